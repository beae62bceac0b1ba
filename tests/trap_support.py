"""A loopback trap proxy: the fetching processes send every request to it, and it answers each
one itself (never forwarding), recording the request line.

It serves what an attacker's server would: redirects to metadata addresses written in every
form, an HLS playlist whose segment is a metadata address, a feed that redirects there and a
gzip bomb. Tests assert that no request for a refused address ever reaches it.
"""
import http.server
import tempfile
import threading
import time
import zlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.media_support import FIXTURES, QuietServer, write_feed

METADATA_PATH = "/latest/meta-data/iam/security-credentials/"
REFUSED_TARGETS = {
    "metadata": f"http://169.254.169.254{METADATA_PATH}",
    "mapped": f"http://[::ffff:169.254.169.254]{METADATA_PATH}",
    "link-local-v6": f"http://[fe80::a9fe:a9fe]{METADATA_PATH}",
    "decimal": f"http://2852039166{METADATA_PATH}",
    "hex": f"http://0xa9fea9fe{METADATA_PATH}",
    "octal": f"http://0251.0376.0251.0376{METADATA_PATH}",
    "zero": "http://0/",
    "unspecified-v6": "http://[::]/",
    "nat64": f"http://[64:ff9b::a9fe:a9fe]{METADATA_PATH}",
    "ipv4-compatible": f"http://[::a9fe:a9fe]{METADATA_PATH}",
}
# The host the tests' URLs name: loopback, so it is allowed, and the trap answers for it.
ALLOWED_HOST = "127.0.0.1:9"
BOMB_MIB = 256
SLOW_FEED_SECONDS = 6


@lru_cache(maxsize=1)
def gzip_bomb():
    """About 260 KB of gzip that unpacks to a 256 MiB RSS feed, nearly all of it blank."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    parts = [packer.compress(b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
                             b"Bomb</title>")]
    parts += [packer.compress(block) for _ in range(BOMB_MIB)]
    parts.append(packer.compress(b"</channel></rss>"))
    return b"".join(parts) + packer.flush()


def hls_playlist(segment_url, key_method=None):
    """A one-segment HLS playlist; with `key_method` (e.g. SAMPLE-AES) one that yt-dlp's own
    HLS downloader hands to ffmpeg."""
    key = (f'#EXT-X-KEY:METHOD={key_method},URI="{trap_url("/key.bin")}"\n'
           if key_method else "")
    return ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"{key}#EXTINF:4.0,\n{segment_url}\n#EXT-X-ENDLIST\n").encode()


class TrapHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_CONNECT(self):
        self.server.requests.append(self.requestline)
        self._answer(403)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.server.requests.append(self.requestline)
        parts = urlsplit(self.path)
        name = parts.path.rsplit("/", 1)[-1]
        if parts.path.startswith("/redirect/") and name in REFUSED_TARGETS:
            self._answer(302, headers=[("Location", REFUSED_TARGETS[name])])
        elif parts.path == "/feed.xml":
            self._answer(302, headers=[("Location", REFUSED_TARGETS["metadata"] + "feed.xml")])
        elif parts.path == "/list.m3u8":
            query = parse_qs(parts.query)
            target = query.get("segment", [REFUSED_TARGETS["metadata"]])[0]
            self._answer(200, hls_playlist(target, query.get("key", [None])[0]),
                         [("Content-Type", "application/vnd.apple.mpegurl")])
        elif parts.path == "/podcast.xml":
            self._answer(200, self.server.podcast, [("Content-Type", "application/rss+xml")])
        elif parts.path == "/slow.xml":
            time.sleep(SLOW_FEED_SECONDS)
            self._answer(404)
        elif parts.path == "/bomb.xml":
            self._answer(200, gzip_bomb(), [("Content-Type", "application/rss+xml"),
                                            ("Content-Encoding", "gzip")])
        elif parts.path == "/speech.mp4":
            self._answer(200, (FIXTURES / "speech.mp4").read_bytes(),
                         [("Content-Type", "video/mp4")])
        else:
            self._answer(404)


class TrapProxy:
    """The trap on a free loopback port; `requests` lists the request lines it received."""

    def __init__(self):
        self.server = QuietServer(("127.0.0.1", 0), TrapHandler)
        self.server.requests = []
        with tempfile.TemporaryDirectory() as folder:
            feed = write_feed(folder, "podcast.xml", f"http://{ALLOWED_HOST}",
                              [("The episode", "speech.mp4", None)])
            self.server.podcast = (Path(folder) / feed.rsplit("/", 1)[-1]).read_bytes()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def requests(self):
        return list(self.server.requests)

    def hosts(self):
        """The host of each request's target (absolute-form URL or CONNECT authority)."""
        found = []
        for line in self.requests:
            target = line.split(" ")[1] if " " in line else ""
            found.append(urlsplit(target).netloc if "://" in target else target)
        return found

    def reached_only(self, host=ALLOWED_HOST):
        """Whether every request the trap received was for `host`, and there was at least one."""
        hosts = self.hosts()
        return bool(hosts) and all(found == host for found in hosts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def trap_url(path):
    """A URL on the allowed loopback host, which the trap answers."""
    return f"http://{ALLOWED_HOST}{path}"

