"""The gunicorn configuration every project runs with, under manage_all.py and in containers.

gunicorn -c common/gunicorn_conf.py product_service.wsgi:application
"""

import os

from gunicorn import glogging

from common import entrypoint

_service = os.environ.get("SERVICE_NAME", "service")

bind = os.environ.get("BIND") or "{}:{}".format(*entrypoint.listen_address())
workers = entrypoint.worker_processes()
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gthread with a bound on slow headers (CLIENT_HEADER_TIMEOUT).
worker_class = "common.gunicorn_worker.BoundedThreadWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = entrypoint.graceful_timeout()
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
proc_name = _service
accesslog = None  # the JSON access log comes from common.middleware.AccessLogMiddleware
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


class JsonLogger(glogging.Logger):
    """gunicorn's own lines (start, workers, timeouts) in the app's JSON; no access log.

    The app writes one JSON access line per request itself. (A `logconfig_dict` would
    make gunicorn format access-log atoms on every request for nobody: ~5 % of the
    gateway's CPU.)
    """

    def setup(self, cfg):
        super().setup(cfg)
        from common.logging import JsonFormatter, RequestIdFilter

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(RequestIdFilter(_service))

    def access(self, resp, req, environ, request_time):
        return None


logger_class = JsonLogger


def on_starting(server):
    entrypoint.empty_metrics_dir(_service)  # prometheus_client's multiprocess directory


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
