"""Checks every input shares: the ValidationError that names the field, and the URL check (the
address policy itself is services/addresses.py). The run request as a whole is checked in
services/run_request.py."""
from urllib.parse import urlsplit

from services.addresses import host_address, refused_host

MAX_URL_LENGTH = 2048


def is_loopback(host):
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if str(host).lower() == "localhost":
        return True
    address = host_address(host)
    return bool(address is not None and address.is_loopback)


class ValidationError(Exception):
    """Bad input; `field` and `code` go into the JSON error, `message` is for the user."""

    def __init__(self, field, message, code="invalid", status=400):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code
        self.status = status


def validate_url(value, block_private=False):
    """A stripped http(s) URL with a host whose address may be fetched, or ValidationError."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("youtube_url", "Enter the URL of a video or media file.", "required")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError("youtube_url", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValidationError("youtube_url", "The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError("youtube_url", "This is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("youtube_url", "Only http:// and https:// URLs are accepted.",
                              "unsupported_scheme")
    if not host:
        raise ValidationError("youtube_url", "The URL has no host name.")
    reason = refused_host(host, block_private)
    if reason:
        raise ValidationError("youtube_url", reason, "refused_address")
    return url

