"""OpenAPI: describe common's JWT authentication as the bearer scheme it is."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class StatelessJWTScheme(SimpleJWTScheme):
    target_class = "common.auth.StatelessJWTAuthentication"
    name = "jwtAuth"
