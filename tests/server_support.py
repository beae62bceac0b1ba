"""A real server started as `make run` starts it (`python run.py`), in a child process."""
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def path_without_venv():
    """PATH without the virtual environment's bin folder, as `make run` leaves it."""
    venv_bin = str(Path(sys.executable).parent)
    return os.pathsep.join(part for part in os.environ.get("PATH", "").split(os.pathsep)
                           if part and Path(part).resolve() != Path(venv_bin).resolve())


def start_server(data_dir, log_path, extra_args=(), env=None):
    """Start `run.py` on a free port; returns (process, base URL) once /healthz answers."""
    port = free_port()
    log_file = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, "run.py", *extra_args, "--port", str(port),
                             "--data-dir", str(data_dir)],
                            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start: {Path(log_path).read_text()[-2000:]}")


def wait_state(url, session_id, states, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = requests.get(f"{url}/api/pipeline/status/{session_id}", timeout=5).json()
        if snapshot["state"] in states:
            return snapshot
        time.sleep(0.2)
    raise AssertionError(f"run did not reach {states}")


@contextmanager
def loopback_http(handler):
    """A threaded HTTP server for `handler` on a free loopback port; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
