"""A real server started as `make run` starts it (`python run.py`), in a child process."""
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from storage.models import FINISHED_STATES as ENDED

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


def run_status(server, session_id):
    """The run's status snapshot; `server` is a base URL, the live server or a Flask test client."""
    path = f"/api/pipeline/status/{session_id}"
    if isinstance(server, str) or hasattr(server, "url"):
        return requests.get(f"{getattr(server, 'url', server)}{path}", timeout=10).json()
    return server.get(path).get_json()


def wait_state(server, session_id, states=ENDED, timeout=120):
    """Poll the status route until the run is in one of `states` (by default: ended); returns
    the snapshot. `server` as for run_status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = run_status(server, session_id)
        if snapshot["state"] in states:
            return snapshot
        time.sleep(0.2)
    raise AssertionError(f"run {session_id} did not reach {states} in {timeout} s")


def start_run(server, url, stages=(1, 2), **extra):
    """Start a run through the JSON API (`extra`: more body fields); returns its session id."""
    body = {"youtube_url": url, "selected_stages": list(stages), **extra}
    response = requests.post(f"{getattr(server, 'url', server)}/pipeline/execute", json=body,
                             timeout=10)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] in ("started", "queued") and answer["monitoring_enabled"] is True
    return answer["session_id"]


def csrf_token(client, path="/"):
    """The CSRF token of the form on the page at `path` (a Flask test client's session)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


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
