"""GET /gateway/services (staff): every service and instance as this worker sees it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.identity.auth import IsStaff
from gateway_project.proxy.authentication import CachedJWTAuthentication
from gateway_project.upstreams.status import services_snapshot


class ServicesStatusView(APIView):
    """Every service and instance: source, health, breaker, load, recent errors, p50."""

    authentication_classes = [CachedJWTAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Upstream instances (staff)")
    def get(self, request: Request, *args: Any) -> Response:
        return Response({"services": services_snapshot()})
