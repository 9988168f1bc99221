"""HTTP for orders: thin viewsets over services.py and selectors.py."""

from __future__ import annotations

import re

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from common.http.middleware import access_log
from common.http.schema import request_example
from order_service.orders import selectors, services
from order_service.orders.filters import OrderFilter
from order_service.orders.models import Order
from order_service.orders.pagination import OrderCursorPagination
from order_service.orders.serializers import OrderCreateSerializer, OrderSerializer

IDEMPOTENCY_HEADER = "Idempotency-Key"
_SANE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces

PROBLEM = OpenApiResponse(OpenApiTypes.OBJECT, description="Problem details (RFC 9457)")
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "pattern": _SANE_KEY.pattern.replace(r"\x21-\x7e", "!-~")},
    OpenApiParameter.HEADER,
    description=(
        "Optional, per user: a repeat with the same key and body answers the first "
        "answer again and creates nothing; another body → 422; while the first is "
        "still running → 409 idempotency-key-in-use with Retry-After."
    ),
)


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _SANE_KEY.match(key):
        raise ValidationError(
            {IDEMPOTENCY_HEADER: ["Use 1 to 255 printable ASCII characters, no spaces."]}
        )
    return key


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Your orders, newest first. Staff see everyone's, "
        "filterable by `user_id` and `status`.",
    ),
    retrieve=extend_schema(
        summary="Get an order",
        responses={200: OrderSerializer, 404: PROBLEM},
    ),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    pagination_class = OrderCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    parameter_examples = {
        "id": "3f6c1b2a-9d4e-4f7a-8b5c-0e1d2a3b4c5d",  # the shape; yours come from POST /orders
        "status": "confirmed",
        "user_id": 2,
        "page_size": 10,
        # p=2100-01-01 00:00:00+00:00, as DRF writes a cursor: from the newest order on.
        "cursor": "cD0yMTAwLTAxLTAxKzAwJTNBMDAlM0EwMCUyQjAwJTNBMDA=",
        # Fixed, so "Try it out" twice answers the first order again, not a second one.
        IDEMPOTENCY_HEADER: "order-ada-0001",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    @extend_schema(
        summary="Place an order",
        request=OrderCreateSerializer,
        examples=[
            # Product 1 of the demo catalog (`manage_all.py up`).
            request_example("One demo keyboard", {"items": [{"product_id": 1, "quantity": 1}]})
        ],
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: OrderSerializer,
            400: PROBLEM,
            409: PROBLEM,
            422: PROBLEM,
            503: PROBLEM,
        },
    )
    def create(self, request: Request) -> Response:
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = idempotency_key(request)
        result = services.order_place(
            user_id=selectors.user_id_of(request.user),
            items=serializer.validated_data["items"],
            idempotency_key=key,
        )
        access_log(request)["order_id"] = str(result.order_id)
        response = Response(result.body, status=status.HTTP_201_CREATED)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(
        summary="Cancel an order",
        description="Owner or staff. Releases the stock; cancelling again changes nothing.",
        request=None,
        responses={200: OrderSerializer, 404: PROBLEM, 409: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        order = services.order_cancel(order_id=order.pk)
        return Response(OrderSerializer(order).data)
