"""The floor of a proxy: one DRF APIView forwarding with the gateway's upstream client.

    DJANGO_SETTINGS_MODULE=scripts.floors.forward FLOOR_UPSTREAM=http://127.0.0.1:PORT \
        gunicorn -c common/runtime/gunicorn_conf.py scripts.floors.forward:application

Settings, URLconf and WSGI application in one module. Every path goes to FLOOR_UPSTREAM
through `gateway_project.transport.client.exchange` (libcurl, kept-alive connections) and
the answer comes back as it is: no route table, authentication, limits, header
filtering, log line or metrics (what the gateway adds on top).
"""

import os

from scripts.floors.base_settings import *  # noqa: F403 -- the bare base

ROOT_URLCONF = __name__
UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:8002").rstrip("/")

# Settings are complete above this line: what follows may read them.
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.http import HttpResponse  # noqa: E402
from django.urls import re_path  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from gateway_project.transport.client import exchange  # noqa: E402


class ForwardView(APIView):
    def get(self, request, path: str) -> HttpResponse:
        answer = exchange(
            UPSTREAM,
            "GET",
            request.get_full_path(),
            {},
            None,
            connect_timeout=1.0,
            read_timeout=5.0,
        )
        content_type = next(
            (value for name, value in answer.headers if name.lower() == "content-type"),
            "application/json",
        )
        return HttpResponse(answer.body, status=answer.status, content_type=content_type)


urlpatterns = [re_path(r"^(?P<path>.*)$", ForwardView.as_view())]
