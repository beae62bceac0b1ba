"""Checks every input shares: the ValidationError that names the field, and the URL and address
checks (what may be fetched). The run request as a whole is checked in services/run_request.py."""
import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


def is_loopback(host):
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


class ValidationError(Exception):
    """Bad input; `field` and `code` go into the JSON error, `message` is for the user."""

    def __init__(self, field, message, code="invalid"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


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
    if host.rstrip(".").lower() in METADATA_NAMES:
        raise ValidationError("youtube_url", "Cloud metadata addresses are not media sources.",
                              "refused_address")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    reason = refused_address(address, block_private)
    if reason:
        raise ValidationError("youtube_url", reason, "refused_address")
    return url


METADATA_NAMES = ("metadata.google.internal", "metadata")
METADATA_ADDRESSES = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                      ipaddress.ip_address("100.100.100.200"))


def refused_address(address, block_private=False):
    """Why media may not come from this IP address, or None: link-local and cloud-metadata
    addresses always; private ranges when `limits.block_private_networks` is set. Loopback
    stays allowed (a local file server)."""
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES or address.is_link_local:
        return (f"{address} is a link-local or cloud-metadata address, which is never fetched "
                "as media.")
    if block_private and address.is_private and not address.is_loopback:
        return (f"{address} is a private network address, refused because "
                "limits.block_private_networks is set.")
    return None


def check_resolved(host, block_private=False):
    """Why `host` may not be fetched once resolved (any of its addresses refused), or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return None   # the download reports names that do not resolve
    for info in infos:
        try:
            reason = refused_address(ipaddress.ip_address(info[4][0].split("%")[0]), block_private)
        except ValueError:
            continue
        if reason:
            return f"{host} resolves to {reason[0].lower()}{reason[1:]}"
    return None
