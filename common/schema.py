"""OpenAPI: describe common's JWT authentication as the bearer scheme it is."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class StatelessJWTScheme(SimpleJWTScheme):
    """Also every project's subclass (the user service's DB-backed one, the gateway's cache)."""

    target_class = "common.auth.StatelessJWTAuthentication"
    match_subclasses = True
    name = "jwtAuth"
