"""Every connection a fetching process makes, checked with the address it actually uses.

`install()` runs once at the start of each process that fetches with yt-dlp (the download
worker and the playlist expander); from then on, in that process:

- each name is resolved once per connection, and every address of the answer is checked
  (services/addresses.py) before the socket connects to one of them; a refused address, or a
  name that resolves to nothing, ends the fetch. A rebinding name cannot pass: the address
  checked is the address connected to;
- a socket connected to a literal address is checked the same way;
- every request yt-dlp sends (pages, media, fragments, subtitles, manifests) and every
  redirect it follows is checked by its URL first. Through a proxy, where the proxy and not
  this process connects, the name is resolved here and its addresses checked before the
  request is handed to the proxy;
- only yt-dlp's native downloaders run: an external downloader (ffmpeg, rtmpdump, aria2c …)
  would fetch outside these checks, so media that needs one fails with a message;
- a whole-document read (a page, a manifest, a feed) stops past `max_document_bytes`, and
  with `max_total_bytes` so does everything read in the process.
"""
import socket
import urllib.request
from urllib.parse import urlsplit

from yt_dlp import YoutubeDL
from yt_dlp.networking.exceptions import RequestError

from services.addresses import (
    RefusedAddress,
    checked_addresses,
    host_address,
    refused_address,
    refused_host,
    resolve_checked,
)

FETCH_SCHEMES = ("http", "https", "ws", "wss")
HANDLERS = ("Requests", "Urllib", "Websockets")   # handlers that connect through Python sockets
READ_CHUNK = 1 << 20
DOCUMENT_LIMIT = 64 << 20


class FetchRefused(RequestError):
    """A fetch this process may not make; `code` is refused_address, unresolvable or too_large."""

    def __init__(self, message, code="refused_address"):
        super().__init__(message)
        self.message = message
        self.code = code


class Policy:
    """What `install` was told, and the first refusal (kept: yt-dlp may swallow the error)."""

    def __init__(self, block_private, proxy, max_document_bytes, max_total_bytes):
        self.block_private = block_private
        self.proxy_host = urlsplit(proxy).hostname if proxy else None
        self.proxied = bool(proxy or urllib.request.getproxies())
        self.max_document_bytes = max_document_bytes
        self.max_total_bytes = max_total_bytes
        self.total_read = 0
        self.refusal = None
        self.proxy_addresses = set()

    def refuse(self, message, code="refused_address"):
        refused = FetchRefused(message, code)
        if self.refusal is None:
            self.refusal = refused
        return refused


_policy = None
_system = {}


def refusal():
    """The first fetch this process refused (a FetchRefused), or None."""
    return _policy.refusal if _policy else None


def _refused(exc):
    return _policy.refuse(f"The media address was refused: {exc.message}", exc.code)


# --- connections -------------------------------------------------------------------------------

def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    infos = _system["getaddrinfo"](host, port, family, type, proto, flags)
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
    if name is None:
        return infos
    if _policy.proxy_host and name.lower() == _policy.proxy_host.lower():
        _policy.proxy_addresses.update(info[4][0] for info in infos)
        return infos   # the configured proxy may be on a private network
    try:
        return checked_addresses(name, infos, _policy.block_private)
    except RefusedAddress as exc:
        raise _refused(exc) from None


def _checked_destination(sock, address):
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return address
    host, rest = address[0], address[1:]
    literal = host_address(host)
    if literal is None:   # a name: resolve it here, checked, and connect to that
        infos = _getaddrinfo(host, rest[0] if rest else None, sock.family, socket.SOCK_STREAM)
        return (infos[0][4][0], *rest)
    if host not in _policy.proxy_addresses:
        reason = refused_address(literal, _policy.block_private)
        if reason:
            raise _refused(RefusedAddress(reason))
    return address


def _connect(sock, address):
    return _system["connect"](sock, _checked_destination(sock, address))


def _connect_ex(sock, address):
    return _system["connect_ex"](sock, _checked_destination(sock, address))


# --- requests ----------------------------------------------------------------------------------

def check_url(url):
    """FetchRefused unless `url` may be requested: an http(s) or ws(s) URL (or data:) whose
    host is allowed as written and, through a proxy, once resolved here."""
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    if scheme == "data":
        return
    host = parts.hostname
    if scheme not in FETCH_SCHEMES or not host:
        raise _policy.refuse(f"The media address was refused: only http and https URLs are "
                             f"fetched, not {scheme or 'this'}:.")
    try:
        if _policy.proxied:
            resolve_checked(host, None, _policy.block_private, _system["getaddrinfo"])
        else:
            reason = refused_host(host, _policy.block_private)
            if reason:
                raise RefusedAddress(reason)
    except RefusedAddress as exc:
        raise _refused(exc) from None


def _capped(response):
    """`response` whose reads count towards the limits."""
    read = response.read

    def count(data):
        _policy.total_read += len(data)
        if _policy.max_total_bytes and _policy.total_read > _policy.max_total_bytes:
            raise _policy.refuse(f"More than {_policy.max_total_bytes >> 20} MiB (unpacked) was "
                                 "read; reading stopped.", "too_large")
        return data

    def capped_read(amt=None):
        if amt is not None and amt >= 0:
            return count(read(amt))
        parts, size = [], 0
        while chunk := count(read(READ_CHUNK)):
            parts.append(chunk)
            size += len(chunk)
            if size > _policy.max_document_bytes:
                raise _policy.refuse(f"A document of more than {_policy.max_document_bytes >> 20} "
                                     "MiB was refused.", "too_large")
        return b"".join(parts)

    response.read = capped_read
    return response


def _urlopen(ydl, req):
    check_url(getattr(req, "url", None) or getattr(req, "full_url", None) or req)
    return _capped(_system["urlopen"](ydl, req))


def _build_request_director(ydl, handlers, preferences=None):
    kept = [handler for handler in handlers if handler.RH_KEY in HANDLERS]
    return _system["build_request_director"](ydl, kept, preferences)


def _session_send(session, request, **kwargs):
    # requests follows a redirect by sending it with allow_redirects=False; the first request
    # came through YoutubeDL.urlopen, which checked it already.
    if kwargs.get("allow_redirects") is False:
        check_url(request.url)
    return _system["session_send"](session, request, **kwargs)


def _redirect_request(handler, req, fp, code, msg, headers, newurl):
    check_url(newurl)
    return _system["redirect_request"](handler, req, fp, code, msg, headers, newurl)


def _external_download(downloader, *args, **kwargs):
    raise _policy.refuse(
        f"This media needs the external downloader {type(downloader).__name__[:-2]}, which would "
        "fetch it outside the address checks, so it is not downloaded.", "external_downloader")


# --- installing --------------------------------------------------------------------------------

def _patch(owner, name, replacement, key):
    _system[key] = getattr(owner, name)
    setattr(owner, name, replacement)


def install(block_private=False, proxy=None, max_document_bytes=DOCUMENT_LIMIT,
            max_total_bytes=None):
    """Check every fetch of this process from now on (once per process)."""
    global _policy
    _policy = Policy(block_private, proxy, max_document_bytes, max_total_bytes)
    if _system:
        return
    from yt_dlp.downloader.external import ExternalFD
    from yt_dlp.downloader.rtmp import RtmpFD
    from yt_dlp.networking import _requests, _urllib

    _patch(socket, "getaddrinfo", _getaddrinfo, "getaddrinfo")
    _patch(socket.socket, "connect", _connect, "connect")
    _patch(socket.socket, "connect_ex", _connect_ex, "connect_ex")
    _patch(YoutubeDL, "urlopen", _urlopen, "urlopen")
    _patch(YoutubeDL, "build_request_director", _build_request_director, "build_request_director")
    _patch(_requests.RequestsSession, "send", _session_send, "session_send")
    _patch(_urllib.RedirectHandler, "redirect_request", _redirect_request, "redirect_request")
    _patch(ExternalFD, "real_download", _external_download, "external")
    _patch(RtmpFD, "real_download", _external_download, "rtmp")
