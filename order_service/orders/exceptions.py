"""The order service's errors: DRF exceptions that common.http.problems renders as problem
details."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions


class InsufficientStock(exceptions.APIException):
    status_code = 409
    default_detail = "Not enough stock for some of the items."
    default_code = "insufficient_stock"
    problem_type = "insufficient-stock"

    def __init__(self, detail: str | None = None, *, items: list | None = None) -> None:
        super().__init__(detail)
        self.problem_extra = {"items": items or []}


class UnknownProduct(exceptions.ValidationError):
    """An order line names a product the catalog does not offer (now): 409, as a conflict
    with the catalog's current state (a deleted or inactive product, or none such)."""

    status_code = 409
    problem_type = "unknown-product"


class OrderTotalTooLarge(exceptions.ValidationError):
    """price * quantity beyond what an order's total holds (Order.total's digits): 409, as
    the same lines at today's prices are what cannot be taken."""

    status_code = 409

    problem_type = "order-total-too-large"


class OrderQuantityTooLarge(exceptions.APIException):
    """Lines naming one product add up beyond what one order may take of it: each line is
    within the schema, their sum is not (a schema cannot say so): 409, like the total.
    Not a ValidationError, which the serializer would fold into a plain 400."""

    status_code = 409
    default_code = "order_quantity_too_large"
    problem_type = "order-quantity-too-large"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.problem_extra = {"errors": {"items": [detail]}}


class ProductsUnavailable(exceptions.APIException):
    """Products down, timing out or answering nonsense: nothing stays reserved."""

    status_code = 503
    default_detail = "The product service is unavailable; nothing was ordered. Try again shortly."
    default_code = "products_unavailable"
    problem_type = "service-unavailable"
    wait = 5  # Retry-After


class IdempotencyKeyInUse(exceptions.APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key is still being processed."
    default_code = "idempotency_key_in_use"
    problem_type = "idempotency-key-in-use"
    wait = 1


class IdempotencyKeyMismatch(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used with a different request body."
    default_code = "idempotency_key_mismatch"
    problem_type = "idempotency-key-mismatch"


class OrderNotCancellable(exceptions.APIException):
    status_code = 409
    default_detail = "This order cannot be cancelled."
    default_code = "order_not_cancellable"
    problem_type = "order-not-cancellable"


class OrderStillPending(exceptions.APIException):
    status_code = 409
    default_detail = "This order is still being placed; try again shortly."
    default_code = "order_pending"
    problem_type = "order-pending"
    wait = 1


# The answers stored for idempotent replays: {"error": name, "detail": ..., ...}.
def stored_error(exc: InsufficientStock | UnknownProduct | OrderTotalTooLarge) -> dict[str, Any]:
    if isinstance(exc, InsufficientStock):
        return {"error": "insufficient-stock", "detail": str(exc.detail), **exc.problem_extra}
    if isinstance(exc, OrderTotalTooLarge):
        return {"error": "order-total-too-large", "errors": exc.detail}
    return {"error": "unknown-product", "errors": exc.detail}


def stored_status(stored: dict[str, Any]) -> int:
    return 409 if stored.get("error") == "insufficient-stock" else 400


def error_from_stored(stored: dict[str, Any]) -> exceptions.APIException:
    if stored.get("error") == "insufficient-stock":
        return InsufficientStock(stored.get("detail"), items=stored.get("items"))
    if stored.get("error") == "order-total-too-large":
        return OrderTotalTooLarge(stored.get("errors"))
    return UnknownProduct(stored.get("errors"))
