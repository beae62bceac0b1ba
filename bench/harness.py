"""A dashboard server and media server in this process, for the benchmarks (like the tests)."""
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import RecordingClient  # noqa: E402
from tests.media_support import MediaServer, looped_speech  # noqa: E402


class Quiet:
    """A stage reporter that takes the stage's reports and keeps nothing (stages run in-process)."""

    def sub_stage(self, name):
        pass

    def sub_progress(self, *args):
        pass

    def media_info(self, **kwargs):
        pass


class Bench:
    """The real app on a free loopback port, a throttling media server, and helpers to run."""

    def __init__(self):
        from webui import create_app

        self.tmp = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
        self.app = create_app({"data_dir": str(self.tmp / "data")})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        media = self.tmp / "media"
        media.mkdir()
        for repeats in (7, 8, 9, 150):
            looped_speech(media, f"speech-x{repeats}.m4a", repeats)
        self.media = MediaServer(media)

    def start(self, path, stages=(1, 2), episode=None):
        """Start a run; returns its session_id."""
        body = {"youtube_url": self.media.url + path, "selected_stages": list(stages),
                "episode_directory": episode}
        answer = requests.post(f"{self.url}/pipeline/execute", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()["session_id"]

    def watch(self, session_id):
        """A socket client subscribed to the run."""
        client = RecordingClient(self.url).connect()
        client.emit("subscribe", {"session_id": session_id})
        return client

    @staticmethod
    def finished(client, timeout=600):
        """Wait for the completion event; returns (status, arrival time)."""
        client.wait_for(lambda got: any(k == "pipeline_completion" for k, *_ in got), timeout)
        return next((d["status"], at) for k, d, at in client.received if k == "pipeline_completion")

    def close(self):
        self.app.extensions["pipeline"].manager.wait_idle(30)
        self.server.shutdown()
        self.media.close()


def percentile(values, fraction):
    """The value at `fraction` (0-1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def now():
    return time.monotonic()
