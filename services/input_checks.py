"""Checks on everything a client sends to start a run; errors name the offending field."""
import hashlib
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from services.stages import STAGES_BY_NUMBER

MAX_URL_LENGTH = 2048
MAX_EPISODE_NAME = 120
_EPISODE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")
STAGE_TEXT = re.compile(r"[0-9]{1,3}", re.ASCII)   # str.isdigit() also takes "²", which int() refuses


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


def parse_stages(value):
    """A sorted list of distinct, implemented stage numbers from a list or '1,2' text."""
    if value is None or value == "" or value == []:
        raise ValidationError("selected_stages", "Select at least one stage.", "required")
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ValidationError("selected_stages", "selected_stages must be a list of stage numbers.")
    numbers = set()
    for item in items:
        if isinstance(item, bool):
            raise ValidationError("selected_stages", "Stage numbers are whole numbers from 1 to 7.")
        if isinstance(item, str) and STAGE_TEXT.fullmatch(item.strip()):
            item = int(item.strip())
        if not isinstance(item, int):
            raise ValidationError("selected_stages", "Stage numbers are whole numbers from 1 to 7.")
        if item not in STAGES_BY_NUMBER:
            shown = f"stage {item}" if abs(item) < 1000 else "such stage"
            raise ValidationError("selected_stages", f"There is no {shown}; stages are 1 to 7.",
                                  "out_of_range")
        numbers.add(item)
    if not numbers:
        raise ValidationError("selected_stages", "Select at least one stage.", "required")
    for number in sorted(numbers):
        stage = STAGES_BY_NUMBER[number]
        if not stage.implemented:
            raise ValidationError("selected_stages",
                                  f"Stage {number} ({stage.name}) is not available yet.",
                                  "not_implemented")
    return sorted(numbers)


def default_episode_name(url):
    """A stable folder name for a URL, so a later run of the same URL reuses its outputs."""
    tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", tail.rsplit(".", 1)[0]).strip("-._")[:40]
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{digest}" if stem else f"episode-{digest}"


def episode_directory(episodes_root, value, url):
    """The episode folder for a run, confined under `episodes_root` (no `..`, no escape)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = default_episode_name(url)
    if not isinstance(value, str):
        raise ValidationError("episode_directory", "episode_directory must be a folder name.")
    name = value.strip()
    if len(name) > MAX_EPISODE_NAME:
        raise ValidationError("episode_directory",
                              f"The folder name is longer than {MAX_EPISODE_NAME} characters.")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise ValidationError("episode_directory", "Give a folder name, not an absolute path.",
                              "absolute_path")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValidationError("episode_directory", "The folder name must not contain '..' or empty parts.",
                              "path_traversal")
    if not all(_EPISODE_PART.match(part) for part in parts):
        raise ValidationError("episode_directory",
                              "Use letters, digits, spaces, '.', '_' and '-' in folder names.")
    root = Path(episodes_root).resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise ValidationError("episode_directory", "The folder must stay inside the episodes folder.",
                              "path_traversal")
    return name, target
