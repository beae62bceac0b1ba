"""An episode's published identity, kept in `publication.json` in its episode folder.

A podcast app knows an episode by its guid and its enclosure URL; a new guid is a new episode,
so both must survive every re-run. The guid is a UUIDv5 of what the episode is (its source URL,
and its folder when the folder is not the source's default one), written once when stage 6
first makes the episode, together with the moment it was first published. Re-runs keep the
file; only a deliberate re-publish moves the date.
"""
import hashlib
import json
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

PUBLICATION_FILE = "publication.json"
# The project's own UUIDv5 namespace for episode guids (itself a UUIDv5 of its name).
EPISODE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:youtube-pipeline:episode")
# Podcasting 2.0's namespace for podcast:guid, a UUIDv5 of the feed URL without its scheme.
PODCAST_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
PUB_DATES = ("published", "uploaded")
UPLOAD_DATE = re.compile(r"[0-9]{8}")   # ASCII digits only: int() would also read "２０２４…"


def default_episode_name(url):
    """A stable folder name for a URL, so a later run of the same URL reuses its outputs."""
    tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", tail.rsplit(".", 1)[0]).strip("-._")[:40]
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{digest}" if stem else f"episode-{digest}"


def episode_guid(source_url, folder_name):
    """The guid of the episode made from `source_url` in the folder named `folder_name`.

    The source URL alone when the folder is the one a run of that URL gets by default, so the
    same video keeps its guid; with a folder chosen by hand, the folder's name too, so two
    episodes made from one source stay two items."""
    default = folder_name == default_episode_name(source_url)
    return str(uuid.uuid5(EPISODE_NAMESPACE, source_url if default
                          else f"{source_url}\n{folder_name}"))


def podcast_guid(feed_url):
    """podcast:guid: the UUIDv5 of the feed URL with its scheme and trailing slashes removed."""
    text = str(feed_url).split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_NAMESPACE, text))


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_moment(value):
    """An ISO 8601 text as an aware UTC datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def read_publication(folder):
    """The folder's publication record {guid, folder, published_at, source_url}, or {} when
    absent, unreadable, or written for a folder of another name (a copy)."""
    try:
        record = json.loads((Path(folder) / PUBLICATION_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or not isinstance(record.get("guid"), str):
        return {}
    if parse_moment(record.get("published_at")) is None:
        return {}
    if record.get("folder", Path(folder).name) != Path(folder).name:
        return {}   # copied from another episode's folder: that episode's identity, not this one's
    return record


def _write(folder, record):
    path = Path(folder) / PUBLICATION_FILE
    part = path.with_name(f".{PUBLICATION_FILE}.part")
    part.write_text(json.dumps(record, indent=2, ensure_ascii=False), "utf-8")
    os.replace(part, path)
    return record


def record_publication(folder, source_url):
    """The folder's publication record, written now if it has none; an existing one is kept
    as it is, so a re-run changes neither the guid nor the date."""
    record = read_publication(folder)
    if record:
        return record
    name = Path(folder).name
    return _write(folder, {"guid": episode_guid(source_url, name), "folder": name,
                           "published_at": _now().isoformat(), "source_url": source_url})


def republish(folder):
    """Move the episode's publication date to now (the guid stays); the new record, or None
    when the episode was never published."""
    record = read_publication(folder)
    if not record:
        return None
    record["published_at"] = _now().isoformat()
    record["republished"] = True
    return _write(folder, record)


def upload_moment(metadata):
    """The video's upload date from metadata.json (`upload_date` YYYYMMDD) at 12:00 UTC, or
    None."""
    text = str((metadata or {}).get("upload_date") or "")
    if not UPLOAD_DATE.fullmatch(text):
        return None
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:]), 12, tzinfo=timezone.utc)
    except ValueError:
        return None


def publication_date(record, metadata, fallback, choice="published"):
    """The item's pubDate: the upload date when configured and known, else the first
    publication, else `fallback` (an aware datetime)."""
    if choice == "uploaded":
        uploaded = upload_moment(metadata)
        if uploaded is not None:
            return uploaded
    return parse_moment((record or {}).get("published_at")) or fallback
