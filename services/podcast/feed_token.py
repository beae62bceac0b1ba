"""The feed's own token: it reads the feed and the files the feed links, and nothing else.

With access control on, podcast apps can only carry a token in the URL, so the feed has its
own, never the admin token. It is `feed.token` when configured (rotated by changing the
setting), else a random one kept in `<data_dir>/feed_token` (0600), made when first needed
and replaced by `rotate`."""
import os
import secrets
from pathlib import Path

TOKEN_FILE = "feed_token"
TOKEN_BYTES = 24


class TokenConfigured(Exception):
    """The feed token is set in the configuration, so only the configuration changes it."""


def _path(data_dir):
    return Path(data_dir) / TOKEN_FILE


def _store(data_dir, token):
    path = _path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{TOKEN_FILE}.part")
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(part, path)
    return token


def feed_token(settings):
    """The feed token: the configured one, else the stored one (made now if there is none)."""
    configured = (settings.get("feed") or {}).get("token")
    if configured:
        return str(configured)
    try:
        stored = _path(settings["data_dir"]).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        stored = ""
    return stored or _store(settings["data_dir"], secrets.token_urlsafe(TOKEN_BYTES))


def rotate(settings):
    """A new stored feed token; the old one stops working at once."""
    if (settings.get("feed") or {}).get("token"):
        raise TokenConfigured("feed.token is set in the configuration: change it there.")
    return _store(settings["data_dir"], secrets.token_urlsafe(TOKEN_BYTES))
