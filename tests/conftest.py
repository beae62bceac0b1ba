"""Shared fixtures: the media server, the live server, HTTP and Socket.IO clients, a run
followed to its end, and a stage reporter that keeps what it is told."""
import functools
import math
import threading
import time
import uuid
from pathlib import Path

import pytest
import socketio
from werkzeug.serving import make_server

from tests.media_support import FIXTURES, MediaServer  # noqa: F401 - FIXTURES for the tests
from tests.server_support import base_url, run_events, start_run, wait_for, wait_state

SPEECH_WORDS = ("mountains", "coffee", "Ethiopia", "market", "listening")


def _letters(text):
    """`text` in lower case with everything but letters dropped ("Sour-dough" -> "sourdough")."""
    return "".join(char for char in text.lower() if char.isalpha())


# The real model's wording and punctuation differ between CPUs (CTranslate2 picks kernels for
# the CPU it runs on): a transcript is checked for most of the words said, not all of them, and
# for times in order rather than for how many sentences it has.
def assert_heard(text, words, share=0.6):
    """Assert that `share` of `words` (one at least) are in `text`, ignoring case and spaces."""
    found = [word for word in words if _letters(word) in _letters(text)]
    needed = max(1, math.ceil(share * len(words)))
    assert len(found) >= needed, f"heard {found} of {list(words)} in {text[:400]!r}"
    return found


def assert_timed_in_order(items, duration, slack=0.5):
    """Assert 0 <= start <= end <= duration + slack for each item, and the starts in order."""
    assert items
    for item in items:
        assert 0 <= item["start"] <= item["end"] <= duration + slack, item
    starts = [item["start"] for item in items]
    assert starts == sorted(starts)


@pytest.fixture(scope="session")
def media_site(tmp_path_factory):
    """The loopback media server (tests/media_support.MediaServer) for the whole session."""
    server = MediaServer(tmp_path_factory.mktemp("media"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def media_server(media_site):
    """Base URL of the media server: tests/fixtures by name, and `/{fast,slow}/<any>.mp4`."""
    return media_site.url


@pytest.fixture(scope="session")
def any_media(media_site):
    """Base URL of the media server with `/long/<any>.mp4` ready too."""
    media_site.add_long_speech()
    return media_site.url


@pytest.fixture(scope="session")
def speech_url(media_server):
    """The URL of the spoken-text video fixture."""
    return f"{media_server}/speech.mp4"


class LiveServer:
    """The real app served by Werkzeug on a free loopback port, in a thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.app.extensions["pipeline"].runner.wait_idle(30)
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One app for the whole session (Flask-SocketIO binds one server per process)."""
    from webui import create_app

    data_dir = tmp_path_factory.mktemp("data")
    app = create_app({"TESTING": True, "data_dir": str(data_dir),
                      "whisper": {"cpu_threads": 2}})
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(live_server):
    """The live server's app."""
    return live_server.app


@pytest.fixture(autouse=True)
def _no_token_tries_counted(request):
    """Each test that uses the live server starts with no token tries counted: every test
    client comes from the same loopback address (webui/throttle.py)."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").app.extensions["login_throttle"].clear()


@pytest.fixture
def client(app):
    """A Flask test client of the live app."""
    return app.test_client()


def _handle_messages_in_order(client):
    """Make a python-socketio client handle its messages one by one, in arrival order.

    python-engineio's client starts a new thread for every message it receives, so on a busy
    machine two events sent in order can reach the handlers the other way round. A browser does
    not do that; the tests compare orders, so they read messages the way a browser does.
    """
    eio = client.eio
    trigger = eio._trigger_event

    def in_order(event, *args, **kwargs):
        if event == "message":
            kwargs["run_async"] = False
        return trigger(event, *args, **kwargs)

    eio._trigger_event = in_order


class RecordingClient:
    """A real python-socketio client that records every event it receives, in order."""

    KINDS = ("pipeline_snapshot", "pipeline_progress", "pipeline_update", "pipeline_transition",
             "pipeline_error", "pipeline_completion", "log_stream", "request_error",
             "cancel_result", "pong", "batch_snapshot", "batch_progress", "batch_entry",
             "batch_completion")

    def __init__(self, url):
        self.url = url
        self.sio = socketio.Client(reconnection=False)
        _handle_messages_in_order(self.sio)
        self.received = []
        self.lock = threading.Condition()
        for kind in self.KINDS:
            self.sio.on(kind, functools.partial(self._record, kind))

    def _record(self, kind, data):
        with self.lock:
            self.received.append((kind, data, time.monotonic()))
            self.lock.notify_all()

    def connect(self, transports=("websocket",)):
        self.sio.connect(self.url, transports=list(transports), wait_timeout=10)
        return self

    def disconnect(self):
        """Close the connection; the wait for the close handshake (up to 3 s in
        websocket-client) happens in the background, the server hears of it at once."""
        if self.sio.connected:
            closer = threading.Thread(target=self.sio.disconnect, daemon=True)
            closer.start()
            closer.join(0.2)

    def emit(self, kind, data):
        self.sio.emit(kind, data)

    def wait_for(self, predicate, timeout=60):
        """Wait until `predicate(received)` is true; returns the received list."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; last events: {[k for k, *_ in self.received[-10:]]}")
                self.lock.wait(min(left, 0.2))
            return list(self.received)

    def wait_kind(self, kind, timeout=60):
        """Wait for the first event of `kind`; returns its data."""
        events = self.wait_for(lambda got: any(k == kind for k, *_ in got), timeout)
        return next(data for k, data, _ in events if k == kind)

    def wait_kind_where(self, kind, predicate, timeout=60):
        """Wait for the first event of `kind` whose data satisfies `predicate`; returns it."""
        events = self.wait_for(lambda got: any(k == kind and predicate(d) for k, d, _ in got), timeout)
        return next(data for k, data, _ in events if k == kind and predicate(data))

    def run_events(self):
        """Received run events (those with a seq), in arrival order."""
        with self.lock:
            return [(k, d) for k, d, _ in self.received if isinstance(d, dict) and "seq" in d
                    and "batch_id" not in d]

    def batch_events(self):
        """Received batch events (those with a seq), in arrival order."""
        with self.lock:
            return [(k, d) for k, d, _ in self.received if isinstance(d, dict) and "seq" in d
                    and "batch_id" in d]


@pytest.fixture
def socketio_client(live_server):
    """A connected recording Socket.IO client; disconnected afterwards."""
    clients = []

    def make(transports=("websocket",)):
        made = RecordingClient(live_server.url).connect(transports)
        clients.append(made)
        return made

    yield make
    for made in clients:
        made.disconnect()


def _caught_up(server, session_id, watcher, waiting):
    """The stored events once they hold the completion (unless `waiting`) and `watcher` has all."""
    stored = run_events(server, session_id)
    if not waiting and not any(item["event"] == "pipeline_completion" for item in stored):
        return None
    if watcher is not None:
        last = stored[-1]["data"]["seq"] if stored else 0
        got = [data["seq"] for _, data in watcher.run_events() if data["session_id"] == session_id]
        if (got[-1] if got else 0) < last:
            return None
    return stored or None


# follow_run's answer: "session_id", "episode", "folder" (None unless `server` is the live
# server), "snapshot" (the status once ended), "stored" (the events route's events), and from the
# socket client subscribed from seq 0: "received" (all it got, timed) and "events" ((kind, data)).
def follow_run(server, url, stages=(1, 2), episode=None, timeout=300, socket=True, **extra):
    """Start a run (start_run) in folder `episode` and follow it to its end (status and socket)."""
    episode = episode or f"run-{uuid.uuid4().hex[:8]}"
    watcher = RecordingClient(base_url(server)).connect() if socket else None
    try:
        session_id = start_run(server, url, stages, episode_directory=episode, **extra)
        if watcher is not None:
            watcher.emit("subscribe", {"session_id": session_id, "last_seq": 0})
        snapshot = wait_state(server, session_id, timeout=timeout)
        stored = wait_for(lambda: _caught_up(server, session_id, watcher,
                                             snapshot["state"] == "awaiting_selection"),
                          timeout=30, message=f"the events of run {session_id} did not all arrive")
    finally:
        if watcher is not None:
            watcher.disconnect()
    app = getattr(server, "app", None)
    return {"session_id": session_id, "episode": episode, "snapshot": snapshot, "stored": stored,
            "folder": Path(app.extensions["pipeline"].episodes_root) / episode if app else None,
            "received": list(watcher.received) if watcher else [],
            "events": watcher.run_events() if watcher else []}


@pytest.fixture(scope="session")
def watch_run(live_server):
    """follow_run on the live server: `watch_run(url, stages, episode=None, timeout=300, ...)`."""
    return functools.partial(follow_run, live_server)


class QuietReporter:
    """A stage's reporter that only keeps what it is told (`on_sub_stage(name)` is called too)."""

    def __init__(self, on_sub_stage=None):
        self.sub_stages, self.progress = [], []
        self.on_sub_stage = on_sub_stage

    def sub_stage(self, name):
        self.sub_stages.append(name)
        if self.on_sub_stage:
            self.on_sub_stage(name)

    def sub_progress(self, *args):
        self.progress.append(args)

    def media_info(self, **fields):
        pass


def run_stages_here(folder, numbers, **overrides):
    """Run the stages `numbers` on the episode `folder` in this process, with the configuration
    and `overrides` over it (the data folder is the folder's parent)."""
    from services.config.loading import load_settings
    from services.engine.cancel import CancelToken
    from services.engine.context import StageContext
    from services.stages import get_stage

    settings = load_settings(overrides={"data_dir": str(folder.parent), **overrides})
    for number in numbers:
        get_stage(number).run(StageContext("test", "http://fixture", folder, settings,
                                           CancelToken(), QuietReporter()))


def cancel_during(server_url, session_id, sub_stage, timeout=120):
    """Cancel the run once it reports progress inside `sub_stage`; returns (seconds from the
    cancel request to the completion event, the completion event)."""
    import requests

    watcher = RecordingClient(server_url).connect()
    try:
        watcher.emit("subscribe", {"session_id": session_id})
        watcher.wait_for(lambda got: any(
            k == "pipeline_progress" and d["sub_stage"] == sub_stage and d["sub_progress"]
            for k, d, _ in got), timeout=timeout)
        asked = time.monotonic()
        requests.post(f"{server_url}/api/pipeline/cancel/{session_id}", json={}, timeout=5)
        watcher.wait_for(lambda got: any(k == "pipeline_completion" for k, *_ in got), timeout=10)
        done_at, completion = next((at, d) for k, d, at in watcher.received
                                   if k == "pipeline_completion")
    finally:
        watcher.disconnect()
    return done_at - asked, completion


# Browser tests: Chromium through Playwright and a media server for any file name, shared by
# every browser test module (defined in tests/browser_support.py).
from tests.browser_support import browser, page  # noqa: E402,F401
