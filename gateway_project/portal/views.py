"""`/gateway/consumers…`: a signed-in user's own consumers and keys; staff see all."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http.schema import request_example
from gateway_project.consumers import services
from gateway_project.consumers.models import ApiKey, Consumer
from gateway_project.observability import usage
from gateway_project.portal.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    ConsumerSerializer,
    ConsumerWriteSerializer,
    NewApiKeySerializer,
)
from gateway_project.proxy.authentication import CachedJWTAuthentication
from gateway_project.proxy.quotas import usage_summary
from gateway_project.proxy.throttling import window_counter


class NameTaken(exceptions.APIException):
    status_code = 409
    default_detail = "This owner has a consumer of that name."
    default_code = "consumer_name_taken"
    problem_type = "consumer-name-taken"


class PortalView(APIView):
    """A person's token (an API key cannot make keys): their own consumers, or all for staff."""

    authentication_classes = [CachedJWTAuthentication]
    permission_classes = [IsAuthenticated]
    # What Swagger UI's "Try it out" fills in: the first consumer and key of a new database.
    parameter_examples = {"consumer_id": 1, "key_id": 1, "days": 30}

    def consumers(self) -> QuerySet[Consumer]:
        found = Consumer.objects.prefetch_related("keys")
        user = self.request.user
        # IsAuthenticated: a signed-in user, whose id is set
        return found if user.is_staff else found.filter(owner_id=user.id)  # type: ignore[misc]

    def consumer(self, consumer_id: int) -> Consumer:
        """404 for another user's consumer: its existence is not theirs to learn."""
        return get_object_or_404(self.consumers(), pk=consumer_id)

    def checked_write(self, partial: bool = False) -> dict[str, Any]:
        serializer = ConsumerWriteSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        given = sorted(set(data) & set(ConsumerWriteSerializer.STAFF_ONLY))
        if given and not self.request.user.is_staff:
            raise PermissionDenied(f"Only staff set {', '.join(given)}.")
        return data


class ConsumerListView(PortalView):
    @extend_schema(responses=ConsumerSerializer(many=True), summary="Your consumers")
    def get(self, request: Request) -> Response:
        return Response(ConsumerSerializer(self.consumers(), many=True).data)

    @extend_schema(
        request=ConsumerWriteSerializer,
        responses={201: ConsumerSerializer},
        summary="Make a consumer",
        examples=[
            request_example("A consumer", {"name": "My app", "description": "Reads my orders"})
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.checked_write()
        data.setdefault("owner_id", request.user.id)
        data.pop("is_active", None)
        if Consumer.objects.filter(owner_id=data["owner_id"], name=data["name"]).exists():
            raise NameTaken()
        consumer = services.consumer_create(**data)
        return Response(ConsumerSerializer(consumer).data, status=status.HTTP_201_CREATED)


class ConsumerDetailView(PortalView):
    @extend_schema(responses=ConsumerSerializer, summary="A consumer with its keys")
    def get(self, request: Request, consumer_id: int) -> Response:
        return Response(ConsumerSerializer(self.consumer(consumer_id)).data)

    @extend_schema(
        request=ConsumerWriteSerializer,
        responses=ConsumerSerializer,
        summary="Change a consumer",
        examples=[request_example("A new description", {"description": "Reads my orders nightly"})],
    )
    def patch(self, request: Request, consumer_id: int) -> Response:
        consumer = self.consumer(consumer_id)
        data = self.checked_write(partial=True)
        owner, name = data.get("owner_id", consumer.owner_id), data.get("name", consumer.name)
        clash = Consumer.objects.filter(owner_id=owner, name=name).exclude(pk=consumer.pk)
        if clash.exists():
            raise NameTaken()
        for name, value in data.items():
            setattr(consumer, name, value)
        consumer.full_clean()
        consumer.save()
        return Response(ConsumerSerializer(consumer).data)

    @extend_schema(responses={204: None}, summary="Delete a consumer and its keys")
    def delete(self, request: Request, consumer_id: int) -> Response:
        self.consumer(consumer_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class KeyListView(PortalView):
    @extend_schema(responses=ApiKeySerializer(many=True), summary="A consumer's keys")
    def get(self, request: Request, consumer_id: int) -> Response:
        keys = self.consumer(consumer_id).keys.all()
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: NewApiKeySerializer},
        summary="Make a key (shown once)",
        examples=[request_example("A key that reads orders", {"scopes": ["orders:read"]})],
    )
    def post(self, request: Request, consumer_id: int) -> Response:
        consumer = self.consumer(consumer_id)
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = services.key_create(consumer=consumer, **serializer.validated_data)
        answer = NewApiKeySerializer(key, context={"raw_key": raw}).data
        return Response(answer, status=status.HTTP_201_CREATED)


class UsageView(PortalView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": usage.KEEP_DAYS - 1},
                description=f"1 to {usage.KEEP_DAYS - 1}; 30 by default",
            )
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="A consumer's usage per route and day, and its quota",
    )
    def get(self, request: Request, consumer_id: int) -> Response:
        consumer = self.consumer(consumer_id)
        days = request.query_params.get("days", "30")
        if not days.isdigit() or not 1 <= int(days) < usage.KEEP_DAYS:
            raise ValidationError({"days": f"a whole number from 1 to {usage.KEEP_DAYS - 1}"})
        return Response(usage_summary(consumer, int(days), window_counter()))


class KeyRevokeView(PortalView):
    @extend_schema(request=None, responses=ApiKeySerializer, summary="Revoke a key")
    def post(self, request: Request, consumer_id: int, key_id: int) -> Response:
        key = get_object_or_404(ApiKey, pk=key_id, consumer=self.consumer(consumer_id))
        return Response(ApiKeySerializer(services.key_revoke(key=key)).data)
