"""nginx in front of the gateways (and of the Rasa servers), as a deployment puts it.

The configuration mirrors `deploy/nginx/nginx.conf` where it matters for
failover: round robin, an upstream marked down after one failure, and a
request that never reached an upstream (connection refused) tried on the
next one. A POST that did reach a dying upstream is not sent again by nginx
(it is not idempotent); the client retries it with the same
`client_message_id`, which the gateway answers without a second turn.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def nginx_binary() -> str:
    """The nginx executable (`NGINX` overrides), or an error naming the install script."""
    for candidate in (os.environ.get("NGINX"), shutil.which("nginx"), *NGINX_CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("nginx is not installed; run scripts/ensure-nginx")


def _upstream(name: str, ports: Sequence[int]) -> str:
    servers = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=15s;" for port in ports
    )
    return f"upstream {name} {{\n{servers}\n    keepalive 32;\n}}\n"


def render_config(
    prefix: Path,
    front_port: int,
    gateway_ports: Sequence[int],
    rasa_port: int,
    rasa_ports: Sequence[int],
) -> str:
    """A self-contained nginx.conf: everything it writes stays under `prefix`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    proxy = """        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 60s;
        proxy_next_upstream error timeout http_502 http_503 http_504;
        proxy_next_upstream_tries 2;"""
    return f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
daemon off;

events {{
    worker_connections 4096;
}}

http {{
    access_log {prefix / "access.log"};
{temp}
    client_max_body_size 256k;

{_upstream("gateways", gateway_ports)}
{_upstream("rasa", rasa_ports)}
    server {{
        listen 127.0.0.1:{front_port};
        location / {{
            proxy_pass http://gateways;
{proxy}
        }}
        location /desk/api/events {{
            proxy_pass http://gateways;
            proxy_buffering off;
{proxy}
        }}
    }}

    server {{
        listen 127.0.0.1:{rasa_port};
        location / {{
            proxy_pass http://rasa;
{proxy}
        }}
    }}
}}
"""


def write_config(
    prefix: Path,
    front_port: int,
    gateway_ports: Sequence[int],
    rasa_port: int,
    rasa_ports: Sequence[int],
) -> Path:
    """Write the configuration and nginx's working folders; the config's path."""
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(
        render_config(prefix, front_port, gateway_ports, rasa_port, rasa_ports), encoding="utf-8"
    )
    return path


def nginx_command(config: Path) -> list[str]:
    """Run nginx in the foreground with `config` (checked first with `-t` by the caller)."""
    return [nginx_binary(), "-p", str(config.parent), "-c", str(config)]
