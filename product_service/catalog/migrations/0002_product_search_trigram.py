"""Trigram indexes for the text search (name/sku icontains), on PostgreSQL only.

Django's icontains is `UPPER(col::text) LIKE UPPER(%s)` on PostgreSQL, so the indexes
are on UPPER(col) with gin_trgm_ops. SQLite has no equivalent: there this is a no-op.
"""

from django.db import migrations

INDEXES = {
    "product_name_trgm_idx": "name",
    "product_sku_trgm_idx": "sku",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON catalog_product "
            f"USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes)]
