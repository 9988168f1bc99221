"""A peer of the gateway: django-revproxy's bare `ProxyView` in front of one upstream.

    DJANGO_SETTINGS_MODULE=scripts.peers.django_revproxy PEER_UPSTREAM=http://127.0.0.1:PORT \
        gunicorn -c common/runtime/gunicorn_conf.py scripts.peers.django_revproxy:application

Settings, URLconf and WSGI application in one module, over the floors' bare base (no
middleware, no authentication, no logging configuration): every path goes to
PEER_UPSTREAM as django-revproxy's documentation shows it (`ProxyView.as_view(upstream=...)`
on `(?P<path>.*)`), with its defaults (urllib3's shared `PoolManager`, headers copied but
hop-by-hop ones). What a Django project that forwards with a library costs, to set the
gateway beside (scripts/bench.py, section `peers`). Benchmark code: never deployed.
"""

import os

from scripts.floors.base_settings import *  # noqa: F403 -- the bare base
from scripts.floors.base_settings import INSTALLED_APPS

ROOT_URLCONF = __name__
INSTALLED_APPS = [*INSTALLED_APPS, "revproxy"]
UPSTREAM = os.environ.get("PEER_UPSTREAM", "http://127.0.0.1:8002").rstrip("/") + "/"

# Settings are complete above this line: what follows may read them.
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.urls import re_path  # noqa: E402
from revproxy.views import ProxyView  # noqa: E402

urlpatterns = [re_path(r"^(?P<path>.*)$", ProxyView.as_view(upstream=UPSTREAM))]
