"""The gateway's WSGI application (common/runtime/wsgi.py wraps it under gunicorn): Django's
handler behind the proxy routes' dispatcher (gateway_project/proxy/dispatch.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
_django = get_wsgi_application()

from gateway_project.proxy.dispatch import ProxyDispatcher  # noqa: E402 -- after setup

application = ProxyDispatcher(_django)
