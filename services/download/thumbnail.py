"""The video's thumbnail, kept as `thumbnail.<ext>` for the episode's cover art.

Fetched through the same YoutubeDL as the media (so through its address checks), best
thumbnail first, at most a few tries, and at most MAX_BYTES read: a picture is small, and an
address that streams on forever must not fill the disk. A thumbnail that cannot be had is only
a warning; the cover then comes from the settings or a title card."""
import logging
import os
from pathlib import Path

log = logging.getLogger("yt_dlp")

MAX_BYTES = 10 * 1024 * 1024
TRIES = 3
CHUNK = 64 * 1024
TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
SUFFIXES = {"jpg", "jpeg", "png", "webp"}
STEM = "thumbnail"


def candidates(info):
    """Thumbnail URLs, best first: yt-dlp lists them worst first (by its preference)."""
    listed = [t.get("url") for t in reversed(info.get("thumbnails") or []) if isinstance(t, dict)]
    if not listed and info.get("thumbnail"):
        listed = [info["thumbnail"]]
    return [url for url in listed if isinstance(url, str) and url.startswith(("http://", "https://"))]


def _suffix(response, url):
    kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if kind in TYPES:
        return TYPES[kind]
    tail = url.split("?", 1)[0].rsplit(".", 1)[-1].lower()
    return "jpg" if tail == "jpeg" else tail if tail in SUFFIXES else None


def _read(response):
    """The body, or None past MAX_BYTES."""
    parts, size = [], 0
    while chunk := response.read(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            return None
        parts.append(chunk)
    return b"".join(parts)


def fetch(ydl, info, folder, errors=(Exception,)):
    """Write the best reachable thumbnail into `folder`; its path, or None.

    `errors` are the exceptions a failed fetch may raise (the guard's refusal among them);
    any of them moves on to the next thumbnail."""
    for stale in Path(folder).glob(f"{STEM}.*"):
        stale.unlink(missing_ok=True)
    for url in candidates(info)[:TRIES]:
        try:
            with ydl.urlopen(url) as response:
                suffix, body = _suffix(response, url), _read(response)
        except errors as exc:
            log.warning("The thumbnail could not be fetched: %s", str(exc)[:200])
            continue
        if suffix is None or not body:
            log.warning("The thumbnail is not a picture, or larger than %d MiB", MAX_BYTES >> 20)
            continue
        path = Path(folder) / f"{STEM}.{suffix}"
        part = path.with_name(f".{path.name}.part")
        part.write_bytes(body)
        os.replace(part, path)
        return path
    return None
