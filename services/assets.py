"""Intro, outro and music-bed files in `<data_dir>/assets`: names, listing, upload, delete.

An asset is named by a plain file name inside that folder; anything else (a path, a hidden
file, a name with control characters) is never resolved. An upload is written to a hidden
temporary file in the folder while its size is counted, then kept only when PyAV finds an
audio stream it can decode and a positive duration; its name comes from the upload's name and
an extension that matches the probed format.
"""
import logging
import os
import re
import tempfile
import time
import unicodedata
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import av

log = logging.getLogger(__name__)

MAX_NAME = 120
MAX_STEM = 100
CHUNK = 1024 * 1024
TEMP_PREFIX = ".upload-"
STALE_TEMP_SECONDS = 3600
MEDIA_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".m4b": "audio/mp4", ".mp4": "audio/mp4",
               ".mov": "video/quicktime", ".wav": "audio/wav", ".w64": "audio/wav",
               ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
               ".opus": "audio/ogg", ".webm": "audio/webm", ".mka": "audio/x-matroska",
               ".mkv": "video/x-matroska", ".aac": "audio/aac", ".aif": "audio/aiff",
               ".aiff": "audio/aiff", ".caf": "audio/x-caf", ".ac3": "audio/ac3"}
# libavformat demuxer (first name of the probed format) -> (default extension, others kept).
EXTENSIONS = {"mp3": (".mp3", ()), "wav": (".wav", ()), "w64": (".w64", ()),
              "flac": (".flac", ()), "ogg": (".ogg", (".oga", ".opus")),
              "mov": (".m4a", (".mp4", ".m4b", ".mov")), "matroska": (".mka", (".webm", ".mkv")),
              "aac": (".aac", ()), "aiff": (".aiff", (".aif",)), "caf": (".caf", ()),
              "ac3": (".ac3", ())}


class AssetError(Exception):
    """An asset name or upload is refused; `code` says why, the message is for the user."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def assets_dir(data_dir):
    """The assets folder of a data folder (not created here)."""
    return (Path(data_dir or ".") / "assets").resolve()


def valid_name(name):
    """Whether `name` is a plain file name an asset may have."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        return False
    if name != unicodedata.normalize("NFC", name) or name != name.strip():
        return False
    if name.startswith(".") or "/" in name or "\\" in name or name in (".", ".."):
        return False
    return not any(unicodedata.category(char).startswith("C") for char in name)


def asset_path(data_dir, name):
    """The path of the asset file `name`, or None when the name is unsafe or no such file."""
    if not valid_name(name):
        return None
    root = assets_dir(data_dir)
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


def exists(data_dir, name):
    """Whether `name` is an asset file."""
    return asset_path(data_dir, name) is not None


def media_type(name):
    """The Content-Type to serve an asset with, from its extension."""
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _read_audio(path):
    """(format name, audio codec, duration s, has video) of a file, or None when it holds no
    audio that PyAV can decode."""
    try:
        with av.open(str(path)) as container:
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if audio is None:
                return None
            duration = container.duration / av.time_base if container.duration else None
            if not duration and audio.duration and audio.time_base:
                duration = float(audio.duration * audio.time_base)
            decoded = next(iter(container.decode(audio)), None)
            if decoded is None:
                return None
            has_video = any(s.type == "video" for s in container.streams)
            return (container.format.name, audio.codec_context.codec.canonical_name, duration,
                    has_video)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.info("Not readable as audio: %s (%s)", path.name, exc)
        return None


@lru_cache(maxsize=512)
def _cached_audio(path, size, modified_ns):
    """`_read_audio` once per version of a file (size and mtime stand for its version)."""
    return _read_audio(Path(path))


def _describe(path):
    stat = path.stat()
    found = _cached_audio(str(path), stat.st_size, stat.st_mtime_ns)
    _, codec, duration, _ = found or (None, None, None, None)
    modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc).isoformat(timespec="seconds")
    return {"name": path.name, "size": stat.st_size,
            "duration": round(duration, 3) if duration else None, "codec": codec,
            "modified": modified.replace("+00:00", "Z")}


def list_assets(data_dir):
    """Every asset file, sorted by name: {name, size, duration, codec, modified}.

    A file that is not readable as audio is listed with `duration` and `codec` None."""
    root = assets_dir(data_dir)
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        if valid_name(entry.name) and entry.is_file() and entry.resolve().parent == root:
            found.append(_describe(entry))
    return sorted(found, key=lambda asset: (asset["name"].casefold(), asset["name"]))


def describe(data_dir, name):
    """The listing entry of one asset, or None."""
    path = asset_path(data_dir, name)
    return _describe(path) if path else None


def _clean_stem(filename):
    """A safe stem from an uploaded file's name (letters of any script, digits, - _ .)."""
    base = re.split(r"[/\\]", str(filename or ""))[-1]
    stem = unicodedata.normalize("NFC", os.path.splitext(base)[0])
    stem = re.sub(r"[^\w.-]+", "-", stem)
    stem = re.sub(r"\.{2,}", ".", stem)
    stem = "".join(c for c in stem if not unicodedata.category(c).startswith("C"))
    stem = unicodedata.normalize("NFC", stem[:MAX_STEM].strip(".-_"))
    return stem if valid_name(stem) else "asset"


def _extension(filename, format_name, has_video):
    """An extension that matches the probed format; the upload's own when it is one of them."""
    token = format_name.split(",")[0]
    default, others = EXTENSIONS.get(token, (None, ()))
    if default is None:
        default = "." + (re.sub(r"[^a-z0-9]", "", token)[:5] or "audio")
    if token == "mov" and has_video:
        default = ".mp4"
    given = os.path.splitext(str(filename or ""))[1].lower()
    return given if given in (default, *others) else default


def too_large_message(max_bytes):
    """What a refused upload over `max_bytes` is told."""
    return (f"The file is larger than the {round(max_bytes / CHUNK, 2):g} MB limit for audio "
            "assets (limits.max_asset_mb).")


def _copy_limited(stream, out, max_bytes):
    """Copy `stream` to `out`; AssetError("too_large") once more than `max_bytes` arrive."""
    received = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return received
        received += len(chunk)
        if received > max_bytes:
            raise AssetError("too_large", too_large_message(max_bytes))
        out.write(chunk)


def _remove_stale_temps(root):
    """Temporary files of uploads that a stopped server left behind."""
    limit = time.time() - STALE_TEMP_SECONDS
    for entry in root.glob(TEMP_PREFIX + "*"):
        try:
            if entry.is_file() and entry.stat().st_mtime < limit:
                entry.unlink()
        except OSError:
            pass


def _keep(temp, root, stem, extension):
    """Give the temporary file its final name, `stem.ext` or `stem-2.ext`…; returns the name."""
    for number in range(1, 10000):
        name = f"{stem}{extension}" if number == 1 else f"{stem}-{number}{extension}"
        try:
            os.link(temp, root / name)  # fails when the name is taken, even by a racing upload
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links
            if (root / name).exists():
                continue
            os.replace(temp, root / name)
        return name
    raise AssetError("name_taken", "Too many assets share this name; rename the file.")


def save_upload(data_dir, filename, stream, max_bytes):
    """Store an uploaded audio file as an asset; returns its listing entry or raises AssetError."""
    root = assets_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root)
    handle, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=root)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            received = _copy_limited(stream, out, max_bytes)
        if not received:
            raise AssetError("empty_file", "The file is empty.")
        found = _read_audio(temp)
        if found is None:
            raise AssetError("not_audio", "This file is not audio that can be played: upload an "
                             "MP3, M4A, WAV, FLAC, Ogg or Opus file.")
        format_name, _, duration, has_video = found
        if not duration or duration <= 0:
            raise AssetError("not_audio", "This audio file has no length; upload it again or "
                             "convert it to MP3 or WAV.")
        extension = _extension(filename, format_name, has_video)
        name = _keep(temp, root, _clean_stem(filename)[:MAX_NAME - len(extension) - 6], extension)
    finally:
        temp.unlink(missing_ok=True)
    log.info("Asset %s stored (%s, %.1f s)", name, format_name, duration)
    return _describe(root / name)


def delete_asset(data_dir, name):
    """Delete the asset `name`; AssetError("not_found") when there is none."""
    path = asset_path(data_dir, name)
    if path is None:
        raise AssetError("not_found", "There is no audio asset with this name.")
    path.unlink()
