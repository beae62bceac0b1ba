"""Longer media made at test time from the committed fixture, and a throttled loopback server."""
import functools
import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def ffmpeg():
    """The ffmpeg the product uses."""
    from services.media import ffmpeg_path

    return ffmpeg_path()


def looped_speech(folder, name, repeats):
    """The fixture's speech repeated `repeats` times (its AAC packets copied, so it is quick)."""
    target = Path(folder) / name
    if not target.exists():
        subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                        "-stream_loop", str(repeats - 1), "-i", str(FIXTURES / "speech.mp4"),
                        "-vn", "-c:a", "copy",
                        str(target)], check=True)
    return target


class MediaHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of one folder; paths under /slow/ are sent at `rate` bytes a second."""

    rate = 256 * 1024

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.startswith("/slow/"):
            return super().do_GET()
        path = Path(self.directory) / self.path[len("/slow/"):].split("?")[0]
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        chunk = 16 * 1024
        try:
            for start in range(0, len(data), chunk):
                self.wfile.write(data[start:start + chunk])
                time.sleep(chunk / self.rate)
        except (BrokenPipeError, ConnectionResetError):
            pass


class QuietServer(http.server.ThreadingHTTPServer):
    """Does not print a traceback when a client (a cancelled download) hangs up."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class MediaServer:
    """A loopback server for `folder`, with a throttled /slow/ path."""

    def __init__(self, folder):
        for name in ("speech.mp4",):
            if not (Path(folder) / name).exists():
                shutil.copy(FIXTURES / name, Path(folder) / name)
        handler = functools.partial(MediaHandler, directory=str(folder))
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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
