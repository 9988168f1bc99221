"""`POST /internal/cache/purge {"keys": [...]}`: a service says which data changed.

Service token only, as at the registry: none or an unknown one is 401
(`ServiceTokenAuthentication`), a caller this path does not accept 403 (`HasServiceToken`).
The route table refuses `internal` paths, so no client reaches it through a proxy route.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http.middleware import access_log
from common.identity.auth import HasServiceToken, ServiceTokenAuthentication
from gateway_project.response_cache.hooks import invalidate
from gateway_project.response_cache.policy import SURROGATE_KEY
from gateway_project.response_cache.store import StoreUnavailable


class CacheUnavailable(APIException):
    status_code = 503
    default_detail = "The response cache cannot be reached; nothing was purged."
    default_code = "cache_unavailable"
    problem_type = "cache-unavailable"
    wait = 1


class PurgeRequestSerializer(serializers.Serializer[Any]):
    keys = serializers.ListField(
        child=serializers.RegexField(SURROGATE_KEY.pattern, max_length=128),
        min_length=1,
        max_length=100,
    )


class CachePurgeView(APIView):
    """Drop every cached answer that carries one of these surrogate keys (service token).

    Internal, like every /internal/ path: not in the gateway's published schema.
    """

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [HasServiceToken]
    schema = None

    def post(self, request: Request) -> Response:
        body = PurgeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        keys = list(dict.fromkeys(body.validated_data["keys"]))
        try:
            purged = invalidate(keys, source="purge")
        except StoreUnavailable as error:
            raise CacheUnavailable() from error
        access_log(request._request)["purged_keys"] = keys
        return Response({"keys": keys, "purged": purged})
