"""HTTP: the public product API and the internal reservation API (never routed by the gateway)."""

from __future__ import annotations

from http import HTTPStatus

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from common.identity.auth import HasServiceToken, IsStaff
from product_service.catalog import selectors, services
from product_service.catalog.cache import CacheHeadersMixin
from product_service.catalog.filters import ProductFilter
from product_service.catalog.models import Product
from product_service.catalog.pagination import ProductCursorPagination
from product_service.catalog.serializers import (
    ProductSerializer,
    ReleasedReservationSerializer,
    ReservationRequestSerializer,
    ReservationSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List active products (staff: inactive ones too)"),
    retrieve=extend_schema(summary="One product"),
    create=extend_schema(summary="Add a product (staff)"),
    update=extend_schema(summary="Replace a product (staff)"),
    partial_update=extend_schema(summary="Change some of a product (staff)"),
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

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action in ("list", "retrieve"):
            return [permissions.AllowAny()]
        return [IsStaff()]

    def get_queryset(self) -> QuerySet[Product]:
        staff = bool(getattr(self.request.user, "is_staff", False))
        return selectors.product_list(include_inactive=staff)

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
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
            product=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Product) -> None:
        services.product_delete(product=instance)


class InternalView(APIView):
    """Service to service only: the X-Service-Token header, no user authentication."""

    authentication_classes = []
    permission_classes = [HasServiceToken]


class ReservationCreateView(InternalView):
    @extend_schema(
        request=ReservationRequestSerializer,
        responses={201: ReservationSerializer, 200: ReservationSerializer},
        tags=["internal"],
        summary="Reserve stock for an order, all lines or none (idempotent by order_ref)",
    )
    def post(self, request: Request) -> Response:
        body = ReservationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lines = [services.Line(**item) for item in body.validated_data["items"]]
        reservation, created = services.stock_reserve(
            order_ref=body.validated_data["order_ref"], items=lines
        )
        request.access_log["order_ref"] = reservation.order_ref
        return Response(
            ReservationSerializer(reservation).data,
            status=HTTPStatus.CREATED if created else HTTPStatus.OK,
        )


class ReservationReleaseView(InternalView):
    @extend_schema(
        request=None,
        responses={200: ReleasedReservationSerializer},
        tags=["internal"],
        summary="Return a reservation's stock (idempotent)",
    )
    def post(self, request: Request, order_ref: str) -> Response:
        reservation = services.stock_release(order_ref=order_ref)
        request.access_log["order_ref"] = reservation.order_ref
        return Response(ReleasedReservationSerializer(reservation).data)
