"""A dashboard server and media server in this process, for the benchmarks (like the tests)."""
import socket
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
        from services.hosting import heap
        from webui import create_app

        self.tmp = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
        self.app = create_app({"data_dir": str(self.tmp / "data")})
        heap.settle()   # as webui/serving.py does for a serving process
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        # As webui/serving.py serves: no Nagle delay on the connections.
        self.server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        self.app.extensions["pipeline"].runner.wait_idle(30)
        self.server.shutdown()
        self.media.close()


def percentile(values, fraction):
    """The value at `fraction` (0-1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def now():
    return time.monotonic()


class ServerProcess:
    """A real `python run.py` server in a child process (as `make run` starts it), with its own
    data folder, and a loopback media server in this process; for figures about the server
    that the measuring code must not disturb."""

    def __init__(self, media_files=(), extra_env=None):
        import os

        from tests.server_support import start_server

        self.tmp = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
        media = self.tmp / "media"
        media.mkdir()
        for name, repeats in media_files:
            looped_speech(media, name, repeats)
        self.media = MediaServer(media)
        # faulthandler: SIGABRT (stack_dump) writes every thread's stack to the log.
        env = dict(os.environ, PYTHONFAULTHANDLER="1", **(extra_env or {}))
        self.log = self.tmp / "server.log"
        self.proc, self.url = start_server(self.tmp / "data", self.log, env=env)

    def stack_dump(self):
        """End the server with SIGABRT; returns the thread stacks it wrote to its log."""
        import signal

        size = self.log.stat().st_size
        self.proc.send_signal(signal.SIGABRT)
        self.proc.wait(20)
        with open(self.log, "rb") as log:
            log.seek(size)
            return log.read().decode(errors="replace")

    def media_url(self, name):
        """A URL of `name` no earlier run used, so each run really downloads it."""
        import uuid

        return f"{self.media.url}/{name}?run={uuid.uuid4().hex[:8]}"

    def start(self, name, stages=(1, 2), **extra):
        import uuid

        body = {"youtube_url": self.media_url(name), "selected_stages": list(stages),
                "episode_directory": f"bench-{uuid.uuid4().hex[:8]}", **extra}
        answer = requests.post(f"{self.url}/pipeline/execute", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()["session_id"]

    def status(self, session_id):
        return requests.get(f"{self.url}/api/pipeline/status/{session_id}", timeout=10).json()

    def wait(self, session_id, timeout=900):
        """Wait until the run has ended; returns its snapshot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snapshot = self.status(session_id)
            if snapshot["state"] in ("completed", "failed", "cancelled", "interrupted"):
                return snapshot
            time.sleep(0.2)
        raise RuntimeError(f"run {session_id} did not end")

    def events(self, session_id):
        answer = requests.get(f"{self.url}/api/pipeline/events/{session_id}?since=0", timeout=30)
        return [(item["event"], item["data"]) for item in answer.json()["events"]]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except Exception:
            self.proc.kill()
        self.media.close()


def iso_seconds(text):
    """An event's ISO-8601 UTC timestamp as seconds since the epoch."""
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def machine():
    """One line naming the machine: CPU model, cores, memory, Python."""
    import os
    import platform

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    except (OSError, StopIteration, ValueError):
        memory = 0
    return (f"{model}, {os.cpu_count()} cores, {memory / 1024 / 1024:.0f} GiB, "
            f"Python {platform.python_version()}")


def print_rows(title, rows):
    """Print rows of (benchmark, figure, measured, goal, met) as a markdown table."""
    print(f"\n{title}\n")
    print("| benchmark | figure | measured | goal | met |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


class Listener(RecordingClient):
    """The tests' recording client, also noting when each `pong` came, the run's completion,
    the snapshot of the latest subscribe, and a disconnect it did not ask for."""

    def __init__(self, url):
        self.pongs = {}
        self.completed = threading.Event()
        self.snapshot = threading.Event()
        self.dropped = False
        self._closing = False
        super().__init__(url)

        @self.sio.event
        def disconnect(*_args):
            if not self._closing:
                self.dropped = True

    def _record(self, kind, data):
        super()._record(kind, data)
        if kind == "pong" and isinstance(data, dict):
            self.pongs[data.get("t")] = time.monotonic()
        elif kind == "pipeline_completion":
            self.completed.set()
        elif kind == "pipeline_snapshot":
            self.snapshot.set()

    def connect(self, transports=("websocket",)):
        # A longer wait than the tests': the benchmarks connect while the machine is busy.
        self.sio.connect(self.url, transports=list(transports), wait_timeout=30)
        return self

    def subscribe(self, session_id, last_seq=0):
        self.snapshot.clear()
        self.sio.emit("subscribe", {"session_id": session_id, "last_seq": last_seq})

    def ping(self, tag, timeout=10):
        """Round trip of one `ping` to its `pong`, in seconds (None when none came)."""
        sent = time.monotonic()
        self.sio.emit("ping", {"t": tag})
        deadline = sent + timeout
        while tag not in self.pongs and time.monotonic() < deadline:
            time.sleep(0.0005)
        return self.pongs[tag] - sent if tag in self.pongs else None

    def close(self):
        self._closing = True
        self.disconnect()
