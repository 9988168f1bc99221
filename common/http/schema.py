"""OpenAPI: the JWT scheme, the problem answers every operation can give, and the shape
of what Swagger UI builds on (operation ids, examples, optional auth).

Every error is problem details (`application/problem+json`, common.http.problems), so every
operation's schema lists the error statuses the shared machinery answers with, in one
place instead of per view: a fuzzer (tests/test_fuzz_e2e.py) then checks each answer's
status, media type and body against the schema.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from django.core.validators import RegexValidator
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from common.http.fields import ANY_TEXT, text_with_one_outside
from common.http.problems import PROBLEM_CONTENT_TYPE

# What every CharField refuses whatever else it allows (DRF's validators): NUL; and, when
# it trims and may not be blank, text of whitespace alone (Python's `\s` is
# `str.isspace()`, what DRF's trim strips).
NOT_BLANK_TEXT = text_with_one_outside(r"\s")


# What Swagger UI's Authorize dialog shows: it writes `Bearer ` itself.
JWT_SCHEME_DESCRIPTION = (
    "Paste the access token alone (the `access` of `POST /users/login`), without `Bearer `: "
    "Swagger UI adds the `Bearer ` prefix itself."
)
JWT_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": JWT_SCHEME_DESCRIPTION,
}


class StatelessJWTScheme(SimpleJWTScheme):
    """Also every project's subclass (the user service's DB-backed one, the gateway's cache)."""

    target_class = "common.identity.auth.StatelessJWTAuthentication"
    match_subclasses = True
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        definition = super().get_security_definition(auto_schema)  # type: ignore[no-untyped-call]
        return {**definition, **JWT_SECURITY_SCHEME}


def request_example(name: str, value: Any) -> OpenApiExample:
    """A request body's example: what "Try it out" sends unless edited."""
    return OpenApiExample(name, value=value, request_only=True)


def optional_first(security: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anyone's `{}` before the token: open to all, a token optional (Swagger UI draws
    the same padlock either way; the order is for readers of the document)."""
    return sorted(security, key=bool)


def camel_operation_id(operation_id: str) -> str:
    """`users_.well_known_jwks.json_retrieve` → `usersWellKnownJwksJsonRetrieve`: Swagger
    UI logs "escaping deep link whitespace with `_` is unsupported" for a deep link to an
    id with `_`, and `.` or `-` are no better in a URL fragment or a CSS selector."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", operation_id) if word]
    return "".join(word if i == 0 else word[:1].upper() + word[1:] for i, word in enumerate(words))


API_KEY_SECURITY_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": (
        "An API key of a consumer (`gwk_...`, made at `POST /gateway/consumers/{consumer_id}/keys` "
        "and shown once), on the operations the gateway's route table gives a scope; "
        "`Authorization: ApiKey <key>` works too."
    ),
}


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    """Service-to-service endpoints (common.identity.auth.ServiceTokenAuthentication)."""

    target_class = "common.identity.auth.ServiceTokenAuthentication"
    name = "serviceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Service-Token",
            "description": "A project's own service token (internal endpoints only).",
        }


class GatewayConsumerScheme(OpenApiAuthenticationExtension):
    """A call the gateway forwards for a consumer's API key
    (common.identity.auth.GatewayConsumerAuthentication). The scheme is defined, but no
    service operation lists it: which operations take a key is the gateway's route table,
    and its documents say so (gateway_project.docs_hub.specs)."""

    target_class = "common.identity.auth.GatewayConsumerAuthentication"
    name = "apiKey"

    def get_security_requirement(self, auto_schema: Any) -> None:  # type: ignore[override]
        return None

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return API_KEY_SECURITY_SCHEME


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details; some answers add members (`items`, `product_ids`)."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # A member of the document, named as RFC 9457 has it (shadows Serializer.errors).
    errors = serializers.JSONField(  # type: ignore[assignment]
        required=False, help_text="Validation errors by field."
    )


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
    the schema is refused by nothing the schema allows). Operation ids are camelCase, a
    view's `parameter_examples` (name → value) give its parameters an `example` (what
    Swagger UI's "Try it out" fills in), and optional auth lists `{}` first."""

    def get_operation_id(self) -> str:
        return camel_operation_id(super().get_operation_id())

    def get_auth(self) -> list[dict[str, Any]]:
        return optional_first(super().get_auth())

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        examples = getattr(self.view, "parameter_examples", {})
        for parameter in parameters:
            if parameter["name"] in examples and "examples" not in parameter:
                parameter.setdefault("example", examples[parameter["name"]])
        return parameters

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(  # type: ignore[no-untyped-call]
            field, direction, bypass_extensions
        )
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if is_list_serializer(field):
            # DRF's ListSerializer checks these, but drf-spectacular leaves them out.
            # (the stubs have min_length and max_length as arguments, not attributes)
            least, most = field.min_length, field.max_length  # type: ignore[union-attr]
            minimum = least if least is not None else 0
            schema["minItems"] = max(minimum, 0 if field.allow_empty else 1)
            if most is not None:
                schema["maxItems"] = most
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

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        wanted = dict(PROBLEM_STATUSES)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            wanted.update(WRITE_PROBLEM_STATUSES)
        for code in [code for code in responses if code[:1] in "45"]:
            wanted.setdefault(code, responses[code].get("description") or "Problem")
        for code, description in wanted.items():
            problem = self._get_response_for_code(  # type: ignore[no-untyped-call]
                ProblemSerializer, code, [PROBLEM_CONTENT_TYPE], direction
            )
            problem["description"] = responses.get(code, {}).get("description") or description
            responses[code] = problem
        return responses
