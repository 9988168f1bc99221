# A user's order list reads its first page from this index in page order (no sort).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        # The new index first: the list is served by an index throughout.
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["user_id", "-created_at", "-id"], name="orders_user_created_id_idx"
            ),
        ),
        migrations.RemoveIndex(
            model_name="order",
            name="orders_user_created_idx",
        ),
    ]
