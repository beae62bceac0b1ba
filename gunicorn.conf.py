"""gunicorn settings for `make serve`.

One worker process: Socket.IO keeps its clients in that process's memory (several instances
need Redis as the message queue and sticky sessions, docs/scale-out.md). Threads serve the
requests, and each open WebSocket holds one thread, so `threads` bounds the open pages.
The address comes from config.yaml (or PIPELINE_SERVER_HOST / PIPELINE_SERVER_PORT).
"""
import os

from services.config.loading import load_settings
from webui.access import check_bind

_server = load_settings(os.environ.get("PIPELINE_CONFIG") or None)["server"]
check_bind(_server["host"], _server.get("auth_token"))

bind = [f"[{_server['host']}]:{_server['port']}" if ":" in _server["host"]
        else f"{_server['host']}:{_server['port']}"]
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("PIPELINE_SERVE_THREADS", "100"))
timeout = 60
graceful_timeout = 30
accesslog = None
