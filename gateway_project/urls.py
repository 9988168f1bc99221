"""The gateway's URLs: the route table first, then its own health, registry and pages."""

from django.urls import include, path

from common.urls import *  # noqa: F403 -- the JSON error handlers
from common.urls import ops_urlpatterns
from gateway_project.docs_hub.views import gateway_document
from gateway_project.operator_endpoints import operator_only_patterns
from gateway_project.proxy.urls import route_urlpatterns
from gateway_project.status.health import health_aggregate
from gateway_project.status.services import ServicesStatusView
from gateway_project.upstreams.views import InstanceDeregistrationView, InstanceRegistrationView

# Routes first: /admin/<service>/ is the service's admin, not the gateway's /admin/.
urlpatterns = [
    *route_urlpatterns(),
    # /ready, /metrics, /api/schema and /api/docs: operators only in production.
    # /api/schema is the hub's "API gateway" document (gateway_project.docs_hub).
    *operator_only_patterns(ops_urlpatterns(liveness="health/live", schema=gateway_document)),
    path("health", health_aggregate, name="health-aggregate"),
    path("gateway/services", ServicesStatusView.as_view(), name="gateway-services"),
    # Service to gateway only (service token); no route of the table can reach /internal.
    path("internal/registry/instances", InstanceRegistrationView.as_view(), name="registry"),
    path(
        "internal/registry/instances/<str:service>/<str:instance_id>",
        InstanceDeregistrationView.as_view(),
        name="registry-instance",
    ),
    path("", include("gateway_project.landing.urls")),
    path("", include("gateway_project.portal.urls")),
    path("", include("gateway_project.response_cache.urls")),
    path("", include("gateway_project.docs_hub.urls")),
    path("", include("gateway_project.dashboard.urls")),
]
