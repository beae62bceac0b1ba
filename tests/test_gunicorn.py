"""`make serve`: the dashboard under gunicorn (one process, threads), WebSocket included."""
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import RecordingClient
from tests.media_support import media_url
from tests.server_support import ROOT, free_port, start_run, wait_for, wait_state

GUNICORN = Path(sys.executable).parent / "gunicorn"


def _start(data_dir, port, log_path):
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data_dir), PIPELINE_SERVER_PORT=str(port))
    return subprocess.Popen([str(GUNICORN), "--config", "gunicorn.conf.py", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=open(log_path, "ab"),
                            stderr=subprocess.STDOUT)


def test_gunicorn_serves_pages_api_and_websocket_events(tmp_path, any_media):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start(tmp_path / "data", port, tmp_path / "gunicorn.log")
    try:
        def health_or_none():
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
            try:
                return requests.get(f"{url}/healthz", timeout=1)
            except requests.ConnectionError:
                return None

        health = wait_for(health_or_none, timeout=60,
                          message=lambda: (tmp_path / "gunicorn.log").read_text()[-2000:])
        assert health.status_code == 200 and "gunicorn" in health.headers["Server"]
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and "<form" in page.text
        client = RecordingClient(url).connect(("websocket",))
        try:
            assert client.sio.transport() == "websocket"
            session_id = start_run(url, media_url(any_media))
            client.emit("subscribe", {"session_id": session_id})
            completion = client.wait_kind("pipeline_completion", 120)
        finally:
            client.disconnect()
        assert completion["status"] == "completed"
        seqs = [data["seq"] for _kind, data in client.run_events()]
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == completion["seq"]
        assert wait_state(url, session_id)["state"] == "completed"
        # A second server on the same data folder is refused: one server per data folder.
        second = _start(tmp_path / "data", free_port(), tmp_path / "second.log")
        assert second.wait(60) != 0
        assert "in use by another server" in (tmp_path / "second.log").read_text()
    finally:
        server.terminate()
        server.wait(30)
