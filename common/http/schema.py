"""OpenAPI: the JWT scheme, and the problem answers every operation can give.

Every error is problem details (`application/problem+json`, common.http.problems), so every
operation's schema lists the error statuses the shared machinery answers with, in one
place instead of per view: a fuzzer (tests/test_fuzz_e2e.py) then checks each answer's
status, media type and body against the schema.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers

from common.http.fields import ANY_TEXT, text_with_one_outside
from common.http.problems import PROBLEM_CONTENT_TYPE

# What every CharField refuses whatever else it allows (DRF's validators): NUL; and, when
# it trims and may not be blank, text of whitespace alone (Python's `\s` is
# `str.isspace()`, what DRF's trim strips).
NOT_BLANK_TEXT = text_with_one_outside(r"\s")


class StatelessJWTScheme(SimpleJWTScheme):
    """Also every project's subclass (the user service's DB-backed one, the gateway's cache)."""

    target_class = "common.identity.auth.StatelessJWTAuthentication"
    match_subclasses = True
    name = "jwtAuth"


class GatewayConsumerScheme(OpenApiAuthenticationExtension):
    """A consumer's API key: sent to the gateway, which checks it and forwards the
    consumer to the service (common.identity.auth.GatewayConsumerAuthentication)."""

    target_class = "common.identity.auth.GatewayConsumerAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": (
                "An API key of a consumer (`gwk_...`, made at `/gateway/consumers/{id}/keys`), "
                "through the gateway, on the operations its route table gives a scope."
            ),
        }


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
    """drf-spectacular's AutoSchema; every 4xx/5xx is documented as problem details, and a
    request body's schema says what its validators refuse (so a client that checks against
    the schema is refused by nothing the schema allows)."""

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if is_list_serializer(field):
            # DRF's ListSerializer checks these, but drf-spectacular leaves them out.
            minimum = field.min_length if field.min_length is not None else 0
            schema["minItems"] = max(minimum, 0 if field.allow_empty else 1)
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        elif getattr(field, "schema_extra", None):
            schema.update(field.schema_extra)
            if isinstance(field, serializers.DecimalField):  # the pattern bounds it
                for bound in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
                    schema.pop(bound, None)
        elif (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"format", "enum", "pattern"} & schema.keys()
            # drf-spectacular writes a RegexValidator's pattern after this runs
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            blank_ok = field.allow_blank or not field.trim_whitespace
            schema["pattern"] = ANY_TEXT if blank_ok else NOT_BLANK_TEXT
        return schema

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
