"""OpenAPI: describe common's JWT authentication as the bearer scheme it is.

Generic (every verifying service needs it); candidate to move into common.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class StatelessJWTScheme(SimpleJWTScheme):
    target_class = "common.auth.StatelessJWTAuthentication"
    name = "jwtAuth"
