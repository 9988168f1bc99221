"""GET /products costs one indexed query per page, whatever the page size or table size."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from common.testing import bearer
from product_service.catalog.models import Product
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


COLUMNS = "sku, name, description, price, stock, units_received, is_active, created_at, updated_at"
VALUES = (
    "'SKU-' || n, 'Product ' || n, '', (n %% 500) + 0.99, n %% 7, n %% 7, n %% 10 <> 0, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
)


def insert_products(start: int, stop: int) -> None:
    """Rows start..stop in one statement (seconds for 100,000); every 10th inactive."""
    table = Product._meta.db_table
    if connection.vendor == "postgresql":
        numbers = "generate_series(%s, %s) AS n"
        sql = f"INSERT INTO {table} ({COLUMNS}) SELECT {VALUES} FROM {numbers}"  # noqa: S608
    else:
        numbers = (
            "WITH RECURSIVE seq(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM seq WHERE n < %s)"
        )
        sql = f"INSERT INTO {table} ({COLUMNS}) {numbers} SELECT {VALUES} FROM seq"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, stop])
        if connection.vendor == "postgresql":
            # What autovacuum does in production: merge the trigram indexes' pending
            # lists, without which the planner rightly shuns them.
            cursor.execute(
                "SELECT gin_clean_pending_list('product_name_trgm_idx'::regclass), "
                "gin_clean_pending_list('product_sku_trgm_idx'::regclass)"
            )
        if connection.vendor == "postgresql":
            # Statistics of every price (500 of them), not of a random sample: with the
            # default target the estimate of one price's rows varies from run to run, and
            # the planner now and then walked the primary key instead of the price index.
            cursor.execute("SET default_statistics_target = 1000")
        cursor.execute(f"ANALYZE {table}")
        if connection.vendor == "postgresql":
            cursor.execute("RESET default_statistics_target")


def plan_of(sql: str) -> list[str]:
    """The plan's nodes (PostgreSQL: node types and index names; SQLite: its details)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            return [
                f"{node['Node Type']} {node.get('Index Name', '')}".strip()
                for node in _nodes(_json(cursor.fetchone()[0]))
            ]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [row[-1] for row in cursor.fetchall()]


def work_of(sql: str) -> int:
    """How much work the database does for SQL: rows read (PostgreSQL), VM steps (SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            return sum(
                node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
                + node.get("Rows Removed by Filter", 0)
                for node in _nodes(_json(cursor.fetchone()[0]))
                if "Scan" in node["Node Type"]
            )
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        raw = connection.connection
        raw.set_progress_handler(count, 10)
        try:
            cursor.execute(sql)
            cursor.fetchall()
        finally:
            raw.set_progress_handler(None, 10)
        return steps


def _json(raw: object) -> dict:
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def _nodes(root: dict) -> list[dict]:
    nodes, stack = [], [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def list_queries(api_client, query: dict, headers: dict) -> list[str]:
    """The SQL of a first page and of the page after it."""
    with CaptureQueriesContext(connection) as captured:
        first = api_client.get("/products", {"page_size": 100, **query}, headers=headers)
        second = api_client.get(first.json()["next"], headers=headers)
    assert first.status_code == second.status_code == HTTPStatus.OK
    assert len(first.json()["results"]) == 100
    assert second.json()["results"]
    sqls = [q["sql"] for q in captured.captured_queries]
    assert len(sqls) == 2
    assert not [sql for sql in sqls if "COUNT(" in sql.upper()]
    return sqls


@pytest.mark.parametrize("page_size", [1, 20, 100])
@pytest.mark.parametrize("as_staff", [False, True], ids=["public", "staff"])
def test_list_is_one_query_whatever_the_page_size(
    api_client, staff, django_assert_num_queries, page_size, as_staff
):
    ProductFactory.create_batch(120)
    headers = staff if as_staff else {}

    with django_assert_num_queries(1) as captured:
        response = api_client.get("/products", {"page_size": page_size}, headers=headers)
    with django_assert_num_queries(1):
        api_client.get(response.json()["next"], headers=headers)

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == page_size
    assert "COUNT(" not in captured.captured_queries[0]["sql"].upper()


def test_filtered_list_is_one_query(api_client, django_assert_num_queries):
    ProductFactory.create_batch(30)

    with django_assert_num_queries(1):
        response = api_client.get(
            "/products", {"min_price": "1", "max_price": "50", "in_stock": "true", "search": "pro"}
        )

    assert len(response.json()["results"]) == 20


CASES = {"public": ({}, False), "staff": ({}, True), "in-stock": ({"in_stock": "true"}, False)}


@pytest.fixture(scope="module")
def catalog_grown_to_100000(django_db_setup, django_db_blocker):
    """1,000 products, then 100,000, inserted once for this module's tests.

    Yields the work each case's two pages cost at 1,000 rows, measured before growing.
    """
    client = APIClient()
    with django_db_blocker.unblock():
        insert_products(1, 1_000)
        small = {name: [work_of(sql) for sql in case_queries(client, name)] for name in CASES}
        insert_products(1_001, 100_000)
        yield small
        table = Product._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {table} CASCADE")
            else:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608


def case_queries(client: APIClient, name: str) -> list[str]:
    query, as_staff = CASES[name]
    return list_queries(client, query, bearer(is_staff=True) if as_staff else {})


@pytest.mark.parametrize("case", list(CASES))
def test_pages_cost_the_same_at_1000_and_100000_rows(api_client, catalog_grown_to_100000, case):
    small = catalog_grown_to_100000[case]

    queries = case_queries(api_client, case)

    large = [work_of(sql) for sql in queries]
    for before, after in zip(small, large, strict=True):
        assert after <= before * 1.2 + 10, (small, large)
    for sql in queries:
        plan = plan_of(sql)
        if connection.vendor == "postgresql":
            assert not [n for n in plan if n.startswith(("Seq Scan", "Sort"))], plan
        else:  # the rowid (primary key) walked in order: no temporary sort
            assert not [n for n in plan if "TEMP B-TREE" in n], plan


def test_price_range_uses_the_price_index(api_client, catalog_grown_to_100000):
    queries = list_queries(api_client, {"min_price": "123", "max_price": "124"}, {})

    for sql in queries:
        plan = plan_of(sql)
        assert [n for n in plan if "product_price_idx" in n], plan
        assert not [n for n in plan if n.startswith("Seq Scan")], plan


@pytest.mark.postgres
def test_text_search_uses_the_trigram_index_on_postgresql(api_client, catalog_grown_to_100000):
    ProductFactory(sku="ZB-1", name="Zebra lamp")

    with CaptureQueriesContext(connection) as captured:
        response = api_client.get("/products", {"search": "zebra"})

    assert [p["sku"] for p in response.json()["results"]] == ["ZB-1"]
    plan = plan_of(captured.captured_queries[0]["sql"])
    assert "Bitmap Index Scan product_name_trgm_idx" in plan, plan
    assert not [n for n in plan if n.startswith("Seq Scan")], plan
