"""OpenAPI: the JWT scheme, and the problem answers every operation can give.

Every error is problem details (`application/problem+json`, common.http.problems), so every
operation's schema lists the error statuses the shared machinery answers with, in one
place instead of per view: a fuzzer (tests/test_fuzz_e2e.py) then checks each answer's
status, media type and body against the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from common.http.problems import PROBLEM_CONTENT_TYPE


class StatelessJWTScheme(SimpleJWTScheme):
    """Also every project's subclass (the user service's DB-backed one, the gateway's cache)."""

    target_class = "common.identity.auth.StatelessJWTAuthentication"
    match_subclasses = True
    name = "jwtAuth"


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; some answers add members (`items`, `product_ids`)."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text="Validation errors by field.")


# The statuses the shared machinery may answer on any operation, and why.
PROBLEM_STATUSES = {
    "400": "Invalid input or a malformed body",
    "401": "No valid credentials",
    "403": "Not allowed for these credentials",
    "404": "No such resource (or not yours)",
    "405": "Method not allowed",
    "406": "Not acceptable (this API answers JSON)",
    "413": "Request body too large",
    "415": "Unsupported media type (send JSON)",
    "429": "Too many requests (Retry-After)",
    "503": "A dependency is unavailable (Retry-After)",
}
# And on operations that change state.
WRITE_PROBLEM_STATUSES = {"409": "Conflict with the current state"}


class ProblemAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema; every 4xx/5xx is documented as problem details."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        wanted = dict(PROBLEM_STATUSES)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            wanted.update(WRITE_PROBLEM_STATUSES)
        for code in [code for code in responses if code[:1] in "45"]:
            wanted.setdefault(code, responses[code].get("description") or "Problem")
        for code, description in wanted.items():
            problem = self._get_response_for_code(
                ProblemSerializer, code, [PROBLEM_CONTENT_TYPE], direction
            )
            problem["description"] = responses.get(code, {}).get("description") or description
            responses[code] = problem
        return responses
