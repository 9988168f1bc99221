"""The registry's internal endpoints (service token only): instances register themselves.

A caller registers and deregisters only its own service's instances
(common.identity.service_callers.may_register): with per-caller SERVICE_TOKENS the products token
cannot point the gateway's `users` traffic (logins with passwords) at an instance of its
choosing, nor deregister the users' instances.
"""

from __future__ import annotations

import logging
from functools import cache
from http import HTTPStatus
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import (
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.identity.auth import (
    SERVICE_TOKEN_HEADER,
    ServiceTokenAuthentication,
    accepted_callers,
)
from common.identity.service_callers import may_register
from common.settings.namespaces import on_test_reset
from common.topology import UPSTREAMS
from gateway_project.conf import gateway_settings
from gateway_project.upstreams.discovery import upstreams
from gateway_project.upstreams.registry import RegistrationRefused, checked_base_url

logger = logging.getLogger(__name__)


def check_registers(request: Request, service: str) -> None:
    """403 unless the caller's token is that of `service` itself."""
    callers = accepted_callers(request)
    if not may_register(callers, service):
        raise PermissionDenied(
            f"This {SERVICE_TOKEN_HEADER} may register and deregister only its own "
            f"service's instances, not those of {service!r}."
        )
    if len(callers) > 1:
        _warn_unscoped_once()


@cache
def _warn_unscoped_once() -> None:
    """The shared SERVICE_TOKEN is every caller's: say once per process, in production,
    that registration is not scoped to the caller until SERVICE_TOKENS is set."""
    if settings.APP_ENV == "production":
        logger.warning(
            "an instance registered with the shared SERVICE_TOKEN, which every caller "
            "holds: registration is scoped to the caller only with SERVICE_TOKENS"
        )


on_test_reset(_warn_unscoped_once.cache_clear)


class RegistrationSerializer(serializers.Serializer[Any]):
    service = serializers.ChoiceField(choices=UPSTREAMS)
    url = serializers.CharField(max_length=300)
    instance_id = serializers.RegexField(r"^[A-Za-z0-9._:-]{1,100}$", required=False)

    def validate_url(self, value: str) -> str:
        try:
            return checked_base_url(value, gateway_settings.REGISTRY_ALLOWED_HOSTS)
        except RegistrationRefused as error:
            raise ValidationError(str(error)) from error


class InstanceRegistrationView(APIView):
    """POST registers or heartbeats (the same call); DELETE deregisters."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes: list[Any] = []  # check_registers: HasServiceToken's test, for one service
    throttle_classes: list[Any] = []
    schema = None

    def post(self, request: Request) -> Response:
        serializer = RegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check_registers(request, data["service"])
        instance_id = data.get("instance_id") or data["url"].split("://", 1)[1]
        group = upstreams()
        entry = group.registry.heartbeat(data["service"], instance_id, data["url"])
        group.refresh()  # this worker at once; the others within REGISTRY_REFRESH_SECONDS
        created = entry.registered_at == entry.last_heartbeat
        return Response(
            {
                "service": entry.service,
                "instance_id": entry.instance_id,
                "url": entry.url,
                "ttl": gateway_settings.REGISTRY_TTL,
            },
            status=HTTPStatus.CREATED if created else HTTPStatus.OK,
        )


class InstanceDeregistrationView(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes: list[Any] = []  # check_registers: HasServiceToken's test, for one service
    throttle_classes: list[Any] = []
    schema = None

    def delete(self, request: Request, service: str, instance_id: str) -> Response:
        if service not in UPSTREAMS:
            raise NotFound("No such registered instance.")
        check_registers(request, service)
        group = upstreams()
        if not group.registry.deregister(service, instance_id):
            raise NotFound("No such registered instance.")
        group.refresh()
        return Response(status=HTTPStatus.NO_CONTENT)
