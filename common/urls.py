"""URL patterns and error handlers every project's root URLconf includes.

from common.urls import *  # noqa: F403 -- handler400..500
from common.urls import ops_urlpatterns

urlpatterns = [*ops_urlpatterns(), path("", include(router.urls))]
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.observability import health

handler400 = "common.http.problems.bad_request"
handler403 = "common.http.problems.permission_denied"
handler404 = "common.http.problems.page_not_found"
handler500 = "common.http.problems.server_error"

__all__ = ["handler400", "handler403", "handler404", "handler500"]


def _probe(view: Any) -> Any:
    return csrf_exempt(require_safe(view))


def ops_urlpatterns(*, liveness: str = "health", schema: Any = None) -> list[URLPattern]:
    """Health, readiness, metrics, OpenAPI schema, Swagger UI and the admin. The probes
    answer GET and HEAD only: any other method, one Django calls unsafe (QUERY) included,
    is a 405 problem naming them, not a CSRF refusal (they hold no session state).
    `schema` serves /api/schema instead of drf-spectacular's view of the project's DRF views
    (the gateway's document describes plain Django views too)."""
    return [
        path(liveness, _probe(health.health), name="health"),
        path("ready", _probe(health.ready), name="ready"),
        path("metrics", _probe(ExportToDjangoView), name="metrics"),
        path("api/schema", schema or SpectacularAPIView.as_view(), name="schema"),
        path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
        path("admin/", admin.site.urls),
    ]
