"""The WSGI app both servers run: the project's own (SERVICE_NAME) inside the client bounds.

common.runtime.entrypoint sets SERVICE_NAME and points granian or gunicorn here, so every project
gets common.runtime.slow_clients without its own wsgi.py knowing.
"""

import importlib

from common.runtime.slow_clients import bounded_app
from common.settings.server_env import service_name
from common.topology import SERVICES

_module, _, _name = SERVICES[service_name()].wsgi_app.partition(":")
application = bounded_app(getattr(importlib.import_module(_module), _name))
