"""HTTP: the public product API and the internal reservation API (never routed by the gateway)."""

from __future__ import annotations

from http import HTTPStatus
from typing import cast

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from common.http.middleware import access_log
from common.http.schema import request_example
from common.identity.auth import IsStaff, ServiceTokenRequired
from product_service.catalog import selectors, services
from product_service.catalog.cache import CacheHeadersMixin
from product_service.catalog.filters import ProductFilter
from product_service.catalog.management.commands.load_demo_catalog import DEMO_CATALOG
from product_service.catalog.models import Product
from product_service.catalog.pagination import ProductCursorPagination
from product_service.catalog.serializers import (
    ProductSerializer,
    ReleasedReservationSerializer,
    ReservationRequestSerializer,
    ReservationSerializer,
)

# Examples "Try it out" sends as they are, on the demo catalog (`manage_all.py up` loads
# it into a new database: its first product, the keyboard, is id 1).
DEMO_PRODUCT_ID = 1
_sku, _name, _description, _price, _stock = DEMO_CATALOG[0]
DEMO_PRODUCT = {
    "sku": _sku,
    "name": _name,
    "description": _description,
    "price": _price,
    "stock": _stock,
    "is_active": True,
}
NEW_PRODUCT = {
    "sku": "LS-001",
    "name": "Laptop stand",
    "description": "Aluminium, six heights.",
    "price": "29.90",
    "stock": 30,
    "is_active": True,
}


@extend_schema_view(
    list=extend_schema(summary="List active products (staff: inactive ones too)"),
    retrieve=extend_schema(summary="One product"),
    create=extend_schema(
        summary="Add a product (staff)", examples=[request_example("A new product", NEW_PRODUCT)]
    ),
    update=extend_schema(
        summary="Replace a product (staff)",
        examples=[request_example("The demo keyboard as loaded", DEMO_PRODUCT)],
    ),
    partial_update=extend_schema(
        summary="Change some of a product (staff)",
        examples=[request_example("A new price", {"price": _price})],
    ),
    destroy=extend_schema(
        summary="Delete a product (staff; a soft delete)",
        description="The product leaves the API at once, for staff too: its URL answers"
        " 404 and it is in no list. It stays in the database, where the orders and"
        " reservations that name it keep their lines, and its SKU stays taken; the product"
        " service's admin lists deleted products and restores one (inactive until set).",
    ),
)
class ProductViewSet(CacheHeadersMixin, viewsets.ModelViewSet):
    """Anyone reads active products; staff (the `is_staff` claim) read all and write."""

    serializer_class = ProductSerializer
    pagination_class = ProductCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilter
    queryset = Product.objects.none()  # for the schema; get_queryset scopes
    parameter_examples = {
        "id": DEMO_PRODUCT_ID,
        "search": "keyboard",
        "min_price": 10,
        "max_price": 100,
        "in_stock": True,
        "page_size": 10,
        "cursor": "cD0w",  # "p=0": from the first id on
    }

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action in ("list", "retrieve"):
            return [permissions.AllowAny()]
        return [IsStaff()]

    def get_queryset(self) -> QuerySet[Product]:
        staff = bool(getattr(self.request.user, "is_staff", False))
        return selectors.product_list(include_inactive=staff)

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:  # type: ignore[override]
        # The filters describe the list. A product by id is that product whatever the
        # query string says, and building the filter form on every read is a measurable
        # part of a GET /products/{id} (docs/performance.md, "What each change bought").
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.product_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.product_update(
            product=cast(Product, serializer.instance),  # an update has one
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance: Product) -> None:
        services.product_delete(product=instance)


class InternalView(ServiceTokenRequired, APIView):
    """Service to service only: the X-Service-Token header, no user authentication."""


class ReservationCreateView(InternalView):
    @extend_schema(
        request=ReservationRequestSerializer,
        responses={201: ReservationSerializer, 200: ReservationSerializer},
        tags=["internal"],
        summary="Reserve stock for an order, all lines or none (idempotent by order_ref)",
        examples=[
            request_example(
                "One keyboard for an order",
                {
                    "order_ref": "4b1f0c9e-7a52-4d3e-9c1a-2f6e8b0d5a71",
                    "items": [{"product_id": DEMO_PRODUCT_ID, "quantity": 1}],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        body = ReservationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lines = [services.Line(**item) for item in body.validated_data["items"]]
        reservation, created = services.stock_reserve(
            order_ref=body.validated_data["order_ref"], items=lines
        )
        access_log(request)["order_ref"] = reservation.order_ref
        return Response(
            ReservationSerializer(reservation).data,
            status=HTTPStatus.CREATED if created else HTTPStatus.OK,
        )


class ReservationReleaseView(InternalView):
    parameter_examples = {"order_ref": "4b1f0c9e-7a52-4d3e-9c1a-2f6e8b0d5a71"}

    @extend_schema(
        request=None,
        responses={200: ReleasedReservationSerializer},
        tags=["internal"],
        summary="Return a reservation's stock (idempotent)",
    )
    def post(self, request: Request, order_ref: str) -> Response:
        reservation = services.stock_release(order_ref=order_ref)
        access_log(request)["order_ref"] = reservation.order_ref
        return Response(ReleasedReservationSerializer(reservation).data)
