from django.urls import include, path

from common.urls import *  # noqa: F403 -- the JSON error handlers
from common.urls import ops_urlpatterns
from gateway_project.proxy.health import health_aggregate
from gateway_project.proxy.routes import route_urlpatterns

# Routes first: /admin/<service>/ is the service's admin, not the gateway's /admin/.
urlpatterns = [
    *route_urlpatterns(),
    *ops_urlpatterns(liveness="health/live"),
    path("health", health_aggregate, name="health-aggregate"),
    path("", include("gateway_project.docs_hub.urls")),
    path("", include("gateway_project.dashboard.urls")),
]
