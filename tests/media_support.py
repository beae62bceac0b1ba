"""The loopback media server of the tests, longer media made from the committed fixture, and
the pipeline's child processes."""
import http.server
import mimetypes
import re
import subprocess
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SPEEDS = ("fast", "slow", "long")
SLOW_SECONDS = 5.0        # a /slow/ download takes about this long
LONG_NAME = "long-speech.m4a"
LONG_REPEATS = 6          # 6 × 23 s of speech: transcription takes well over ten seconds


def ffmpeg():
    """The ffmpeg the product uses."""
    from services.media.ffmpeg import ffmpeg_path

    return ffmpeg_path()


def looped_speech(folder, name, repeats):
    """The fixture's speech repeated `repeats` times (its AAC packets copied, so it is quick)."""
    target = Path(folder) / name
    if not target.exists():
        subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                        "-stream_loop", str(repeats - 1), "-i", str(FIXTURES / "speech.mp4"),
                        "-vn", "-c:a", "copy", str(target)], check=True, timeout=120)
    return target


class MediaHandler(http.server.BaseHTTPRequestHandler):
    """Serves files by name from `folder`, then from tests/fixtures (HEAD and byte ranges too).

    `/fast/<name>`, `/slow/<name>` and `/long/<name>` serve the file `<name>` as well and also
    answer for any `<name>.mp4` that is no file (so a test picks the title): fast and slow send
    the speech fixture, long sends LONG_NAME of `folder`. `/slow/…` spreads the body over
    `slow_seconds`.
    """

    folder = FIXTURES
    slow_seconds = SLOW_SECONDS
    chunk = 8 * 1024

    def log_message(self, *args):
        pass

    def _target(self):
        """(file to send or None, speed or None) for the request path."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        speed, _, rest = path.partition("/")
        if speed in SPEEDS and rest:
            path = rest
        else:
            speed = None
        for base in (Path(self.folder).resolve(), FIXTURES.resolve()):
            candidate = (base / path).resolve()
            if candidate.is_relative_to(base) and candidate.is_file():
                return candidate, speed
        if speed and path.endswith(".mp4"):
            return (Path(self.folder) / LONG_NAME if speed == "long" else FIXTURES / "speech.mp4"), speed
        return None, speed

    def _range(self, size):
        match = re.match(r"^bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if not match or not (match.group(1) or match.group(2)):
            return None
        if match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
        else:
            start, end = max(size - int(match.group(2)), 0), size - 1
        return (start, min(end, size - 1)) if start < size else None

    def _headers(self, target):
        """Send the status and headers; returns (first byte, byte count) of the body."""
        size = target.stat().st_size
        byte_range = self._range(size)
        start, end = byte_range or (0, size - 1)
        if byte_range:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        kind = "video/mp4" if target.suffix == ".mp4" else mimetypes.guess_type(target.name)[0]
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return start, end - start + 1

    def do_HEAD(self):
        target, _ = self._target()
        if target is None or not target.is_file():
            self.send_error(404)
            return
        self._headers(target)

    def do_GET(self):
        target, speed = self._target()
        if target is None or not target.is_file():
            self.send_error(404)
            return
        start, length = self._headers(target)
        pause = self.slow_seconds / max(length / self.chunk, 1) if speed == "slow" else 0
        try:
            with open(target, "rb") as source:
                source.seek(start)
                while length > 0:
                    data = source.read(min(self.chunk, length))
                    if not data:
                        break
                    length -= len(data)
                    self.wfile.write(data)
                    if pause:
                        self.wfile.flush()
                        time.sleep(pause)   # kept: the deliberate slowness of a "slow" URL
        except (BrokenPipeError, ConnectionResetError):
            pass  # yt-dlp closed the connection (it had what it needed, or was cancelled)


class QuietServer(http.server.ThreadingHTTPServer):
    """Does not print a traceback when a client (a cancelled download) hangs up."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class MediaServer:
    """The loopback media server of the tests (see MediaHandler), for `folder`."""

    def __init__(self, folder=FIXTURES, slow_seconds=SLOW_SECONDS):
        self.folder = Path(folder)
        handler = type("Handler", (MediaHandler,), {"folder": self.folder,
                                                     "slow_seconds": slow_seconds})
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_long_speech(self):
        """Write LONG_NAME (LONG_REPEATS times the speech) into the folder, for `/long/…`."""
        return looped_speech(self.folder, LONG_NAME, LONG_REPEATS)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def three_minute_media(tmp_path):
    """A media server for `speech-3min.m4a`: the speech fixture looped to about 3 minutes."""
    looped_speech(tmp_path, "speech-3min.m4a", 8)
    server = MediaServer(tmp_path)
    yield server
    server.close()


def media_url(base, speed="fast", name=None):
    """A media URL no earlier run used (so no checkpoint is reused)."""
    return f"{base}/{speed}/{name or 'talk-' + uuid.uuid4().hex[:10]}.mp4"


def cue(start, end, text):
    """A subtitle cue as services.media.subtitles.parse_vtt gives it."""
    return {"start": start, "end": end, "text": text}


PIPELINE_CHILDREN = ("ffmpeg", "python")


def child_processes(pid, names=PIPELINE_CHILDREN):
    """Command names of the live (not zombie) children of `pid` that the pipeline could have
    started (ffmpeg, Python workers), read from /proc; a test's browser driver is not counted."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name_end = stat.rindex(")")
        fields = stat[name_end + 2:].split()
        name = stat[stat.index("(") + 1:name_end]
        if int(fields[1]) == pid and fields[0] != "Z" and name.startswith(names):
            children.append(name)
    return children


def write_feed(folder, name, base, items, title="Test podcast"):
    """An RSS 2.0 podcast feed `name` in `folder` (served by a MediaServer at `base`): one item
    per (title, file name or None, duration text or None); a file becomes the item's enclosure
    at `base/<file>`, an item without one links to a page instead. Returns the feed's URL."""
    from xml.sax.saxutils import escape, quoteattr

    parts = []
    for item_title, file_name, duration in items:
        media = (f"<enclosure url={quoteattr(f'{base}/{file_name}')} type=\"audio/mp4\" "
                 f"length=\"1000\"/>" if file_name else
                 f"<link>{escape(base)}/articles/{uuid.uuid4().hex[:8]}.html</link>")
        length = f"<itunes:duration>{escape(duration)}</itunes:duration>" if duration else ""
        parts.append(f"<item><title>{escape(item_title)}</title>{media}{length}"
                     f"<guid>{uuid.uuid4().hex}</guid></item>")
    (Path(folder) / name).write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>'
        f"<title>{escape(title)}</title><link>{escape(base)}/</link>"
        f"<description>A feed for the tests</description>{''.join(parts)}</channel></rss>",
        encoding="utf-8")
    return f"{base}/{name}"
