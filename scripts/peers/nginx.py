"""A peer of the gateway: nginx in front of one upstream, as the current user.

One worker, upstream keepalive (HTTP/1.1 to the upstream, `Connection` cleared), every
path it writes (pid, logs, temp files) under a prefix of the caller's, no root path:
`nginx -p PREFIX -e PREFIX/error.log -c PREFIX/nginx.conf` in the foreground
(scripts/bench.py, section `peers`). Benchmark code: never deployed.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
from pathlib import Path

# Debian installs it in /usr/sbin, which a user's PATH often lacks.
NGINX_MISSING = "nginx is not installed (apt-get install -y nginx; macOS: brew install nginx)"

CONFIG = """\
worker_processes 1;
daemon off;
{user}pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log combined buffer=64k flush=1s;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream peer {{
        server {upstream};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://peer;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()),
        None,
    )


def nginx_command(binary: str, prefix: Path, port: int, upstream: str) -> list[str]:
    """Write PREFIX/nginx.conf for a proxy on PORT to UPSTREAM (host:port); the command
    that runs it. Started by root, its worker keeps root's identity (`user`), so it can
    write under the prefix as an unprivileged user's worker would."""
    prefix.mkdir(parents=True, exist_ok=True)
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    conf = prefix / "nginx.conf"
    conf.write_text(CONFIG.format(user=user, prefix=prefix, port=port, upstream=upstream))
    return [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
