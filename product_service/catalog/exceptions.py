"""The product service's errors: DRF exceptions that common.http.problems renders as problem
details (`problem_type` tells apart two answers with one status)."""

from __future__ import annotations

from rest_framework import exceptions, status


class InsufficientStock(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Not enough stock for some items."
    default_code = "insufficient_stock"
    problem_type = "insufficient-stock"

    def __init__(self, items: list[dict[str, int]]) -> None:
        names = ", ".join(str(item["product_id"]) for item in items)
        super().__init__(f"Not enough stock for product(s) {names}.")
        self.problem_extra = {"items": items}


class UnknownProducts(exceptions.ValidationError):
    problem_type = "unknown-product"

    def __init__(self, product_ids: list[int]) -> None:
        super().__init__(
            {"items": [f"Product {pid} does not exist or is not active." for pid in product_ids]}
        )
        self.problem_extra = {"product_ids": product_ids}


class OrderRefReused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This order_ref already holds a reservation of other items."
    default_code = "order_ref_reused"
    problem_type = "order-ref-reused"


class StockWouldGoNegative(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The stock changed meanwhile: this change would make it negative."
    default_code = "stock_conflict"
    problem_type = "stock-conflict"


class StockCountTooLarge(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "This change would take the units this product has received past what the catalog "
        "counts (2147483647)."
    )
    default_code = "stock_count_too_large"
    problem_type = "stock-count-too-large"
