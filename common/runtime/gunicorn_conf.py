"""The gunicorn configuration every project runs with, under manage_all.py and in containers.

gunicorn -c common/runtime/gunicorn_conf.py product_service.wsgi:application
"""

from typing import Any

from gunicorn import glogging

from common.runtime import entrypoint
from common.settings import server_env

server_env.resolve_aliases()  # warns here only when gunicorn runs without the entrypoint
_service = server_env.service_name() or "service"
_options = server_env.gunicorn_options()

bind = server_env.bind()
workers = server_env.worker_processes()
threads = server_env.worker_threads()
# gthread that reads each request in its poller, within its bounds, before a thread
# takes it (common/runtime/gunicorn_worker.py): slow clients hold no thread.
worker_class = "common.runtime.gunicorn_worker.BufferingThreadWorker"
worker_connections = server_env.worker_connections()
timeout = _options["timeout"]
graceful_timeout = server_env.graceful_timeout()
keepalive = _options["keepalive"]
max_requests = int(_options["max_requests"])  # an int already: for the type
max_requests_jitter = max_requests // 10
proc_name = _service
accesslog = None  # the JSON access log comes from common.http.middleware.AccessLogMiddleware
errorlog = "-"
loglevel = _options["loglevel"]
control_socket_disable = True
forwarded_allow_ips = _options["forwarded_allow_ips"]


class JsonLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's own lines (start, workers, timeouts) in the app's JSON; no access log.

    The app writes one JSON access line per request itself. (A `logconfig_dict` would
    make gunicorn format access-log atoms on every request for nobody: docs/performance.md,
    "What was done in the first round".)
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from common.observability.logging import (
            GunicornServerFilter,
            JsonFormatter,
            RequestIdFilter,
        )

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(GunicornServerFilter())
            handler.addFilter(RequestIdFilter(_service))

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = JsonLogger


def on_starting(server: Any) -> None:
    entrypoint.empty_metrics_dir(_service)  # prometheus_client's multiprocess directory


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
