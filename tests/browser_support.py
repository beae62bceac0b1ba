"""Browser-test support: Chromium through Playwright, a media server for any file name, helpers.

The fixtures are made available to every test module by tests/conftest.py.
"""
import http.server
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_REPEATS = 6          # 6 × 23 s of speech: transcription takes well over ten seconds
SLOW_SECONDS = 5.0        # a /slow/ download takes about this long
ENDED = ("completed", "failed", "cancelled", "interrupted")


def chromium_path():
    """Debian's chromium, or None when it is not installed."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


def long_speech(folder):
    """The speech fixture's audio repeated LONG_REPEATS times (AAC packets copied: quick)."""
    from services.media import ffmpeg_path

    target = Path(folder) / "long-speech.m4a"
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y",
                    "-stream_loop", str(LONG_REPEATS - 1), "-i", str(FIXTURES / "speech.mp4"),
                    "-vn", "-c:a", "copy", str(target)], check=True, timeout=60)
    return target


class AnyNameMediaHandler(http.server.BaseHTTPRequestHandler):
    """Serves media for any `/<speed>/<name>.mp4` path, whatever the name (titles come from it).

    `/fast/…` sends the speech fixture at once, `/slow/…` spreads it over SLOW_SECONDS,
    `/long/…` sends the long recording. HEAD and single byte ranges are answered.
    """

    bodies = {}

    def log_message(self, *args):
        pass

    def _body(self):
        match = re.match(r"^/(fast|slow|long)/[^?]+\.mp4(\?.*)?$", self.path)
        if not match:
            return None, None
        speed = match.group(1)
        return self.bodies["long" if speed == "long" else "speech"], speed

    def _range(self, size):
        match = re.match(r"^bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if not match or not (match.group(1) or match.group(2)):
            return None
        if match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
        else:
            start, end = size - int(match.group(2)), size - 1
        return (start, min(end, size - 1)) if start < size else None

    def _headers(self, data):
        byte_range = self._range(len(data))
        if byte_range:
            start, end = byte_range
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            data = data[start:end + 1]
        else:
            self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return data

    def do_HEAD(self):
        data, _ = self._body()
        if data is None:
            self.send_error(404)
            return
        self._headers(data)

    def do_GET(self):
        data, speed = self._body()
        if data is None:
            self.send_error(404)
            return
        data = self._headers(data)
        chunk = 8 * 1024
        pause = SLOW_SECONDS / max(len(data) / chunk, 1) if speed == "slow" else 0
        try:
            for start in range(0, len(data), chunk):
                self.wfile.write(data[start:start + chunk])
                if pause:
                    self.wfile.flush()
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # yt-dlp closed the connection (it had what it needed, or was cancelled)


@pytest.fixture(scope="session")
def any_media(tmp_path_factory):
    """Base URL of a loopback server answering `/{fast,slow,long}/<any name>.mp4`."""
    folder = tmp_path_factory.mktemp("browser-media")
    handler = type("Handler", (AnyNameMediaHandler,), {"bodies": {
        "speech": (FIXTURES / "speech.mp4").read_bytes(),
        "long": long_speech(folder).read_bytes(),
    }})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def media_url(base, speed="fast", name=None):
    """A media URL no earlier run used (so no checkpoint is reused)."""
    return f"{base}/{speed}/{name or 'talk-' + uuid.uuid4().hex[:10]}.mp4"


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright, for one test module.

    Closed after each module, so no Playwright driver process outlives the browser tests
    (other tests check that the pipeline leaves no child process behind).
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def finish_runs(live_server, timeout=30):
    """Cancel whatever still runs and wait until the pipeline is idle."""
    pipeline = live_server.app.extensions["pipeline"]
    with live_server.app.app_context():
        from webui.extensions import db
        from webui.models import Run

        active = db.session.scalars(db.select(Run.session_id).where(
            Run.state.in_(("queued", "running", "awaiting_selection")))).all()
        for session_id in active:   # a waiting run is cancelled in the database: needs the context
            pipeline.cancel(session_id)
    pipeline.manager.wait_idle(timeout)


@pytest.fixture
def page(browser, live_server):
    """A fresh desktop-sized page; console errors and page errors are collected on it.

    Runs left going by a test are cancelled afterwards, so the next test starts at once.
    """
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    opened = context.new_page()
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.on("console", lambda message: message.type == "error"
              and opened.errors.append(message.text))
    opened.set_default_timeout(30_000)
    yield opened
    context.close()
    finish_runs(live_server)


def screenshot(page, name):
    """Save a full-page screenshot under test-artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def start_run(live_server, url, stages=(1, 2)):
    """Start a run through the JSON API; returns its session id."""
    response = requests.post(f"{live_server.url}/pipeline/execute", timeout=10,
                             json={"youtube_url": url, "selected_stages": list(stages)})
    assert response.status_code == 202, response.text
    return response.json()["session_id"]


def run_status(live_server, session_id):
    """The run's status snapshot from the HTTP API."""
    return requests.get(f"{live_server.url}/api/pipeline/status/{session_id}", timeout=10).json()


def wait_run_ended(live_server, session_id, timeout=90):
    """Wait until the run has ended on the server; returns its snapshot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = run_status(live_server, session_id)
        if snapshot["state"] in ENDED:
            return snapshot
        time.sleep(0.2)
    raise AssertionError(f"run {session_id} did not end in {timeout} s")


def stored_events(live_server, session_id, kind=None):
    """The run's stored events (optionally of one kind), from the HTTP API."""
    body = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}?since=0",
                        timeout=10).json()
    return [item["data"] for item in body["events"] if kind is None or item["event"] == kind]
