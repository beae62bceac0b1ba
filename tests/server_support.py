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


def wait_for(condition, timeout=60, interval=0.2, message=None):
    """Poll `condition()` until it is true and return it; after `timeout` s fail with `message`."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            text = message() if callable(message) else message
            raise AssertionError(text or f"not reached in {timeout} s: {condition}")
        time.sleep(min(interval, left))


def answers_health(url):
    """Whether the server at `url` answers /healthz with 200 (False while it cannot connect)."""
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def start_server(data_dir, log_path, extra_args=(), env=None):
    """Start `run.py` on a free port; returns (process, base URL) once /healthz answers."""
    port = free_port()
    log_file = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, "run.py", *extra_args, "--port", str(port),
                             "--data-dir", str(data_dir)],
                            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers_health(url), timeout=60)
    except AssertionError:
        proc.kill()
        log = Path(log_path).read_text()[-2000:]
        raise AssertionError(f"server did not start: {log}") from None
    return proc, url


def over_http(server):
    """Whether `server` is a base URL or the live server rather than a Flask test client."""
    return isinstance(server, str) or hasattr(server, "url")


def base_url(server):
    """The base URL of a server given as a URL or as the live server."""
    return getattr(server, "url", server)


def run_status(server, session_id):
    """The run's status snapshot; `server` is a base URL, the live server or a Flask test client."""
    path = f"/api/pipeline/status/{session_id}"
    if over_http(server):
        return requests.get(f"{base_url(server)}{path}", timeout=10).json()
    return server.get(path).get_json()


def run_events(server, session_id):
    """The run's stored events ({"event", "data"}); `server` as for run_status."""
    path = f"/api/pipeline/events/{session_id}?since=0"
    if over_http(server):
        return requests.get(f"{base_url(server)}{path}", timeout=10).json()["events"]
    return server.get(path).get_json()["events"]


def wait_state(server, session_id, states=ENDED, timeout=120):
    """Poll the status route until the run is in one of `states` (default: ended); the snapshot."""
    def reached():
        snapshot = run_status(server, session_id)
        return snapshot if snapshot["state"] in states else None

    return wait_for(reached, timeout,
                    message=f"run {session_id} did not reach {states} in {timeout} s")


def start_run(server, url, stages=(1, 2), **extra):
    """POST a run as JSON (no CSRF token needed) and return its id; `stages` None sends none."""
    body = {"youtube_url": url, **({} if stages is None else {"selected_stages": list(stages)}),
            **extra}
    if over_http(server):
        response = requests.post(f"{base_url(server)}/pipeline/execute", json=body, timeout=10)
        status, text = response.status_code, response.text
        answer = response.json() if status == 202 else None
    else:
        response = server.post("/pipeline/execute", json=body)
        status, text = response.status_code, response.get_data(as_text=True)
        answer = response.get_json()
    assert status == 202, text
    assert answer["status"] in ("started", "queued") and answer["monitoring_enabled"] is True
    return answer["session_id"]


def csrf_token(client, path="/"):
    """The CSRF token of the form on the page at `path` (a Flask test client's session)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class HangingHandler(http.server.BaseHTTPRequestHandler):
    """Answers after a long wait, so a run stays in stage 1 until it is cancelled."""

    def do_GET(self):
        time.sleep(20)   # kept: the deliberate delay of this fake server
        self.send_error(404)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


def stage_1_outcome(server, url):
    """Stage 1 of `url` on the server at base URL `server`, followed to its end: (final
    snapshot, the error objects of its pipeline_error events)."""
    answer = requests.post(f"{server}/pipeline/execute", timeout=10,
                           json={"youtube_url": url, "selected_stages": [1]})
    assert answer.status_code == 202, answer.text
    session_id = answer.json()["session_id"]
    snapshot = wait_state(server, session_id, timeout=120)
    errors = [e["data"]["error"] for e in run_events(server, session_id)
              if e["event"] == "pipeline_error"]
    return snapshot, errors


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
