"""What the feed says about one episode folder: its audio, length, chapters, cover and
transcripts, read from what stage 6 wrote (`production.json`), never raising on bad files."""
import logging
import math
from functools import lru_cache
from pathlib import Path

from services.json_files import read_json_object
from services.media.ffmpeg import MediaError, probe

log = logging.getLogger(__name__)

EPISODE_TYPES = {"episode.m4a": "audio/mp4", "episode.mp3": "audio/mpeg"}
# The episode's transcripts (in episode time, written by stage 6) and their types.
TRANSCRIPT_TYPES = {"episode.vtt": "text/vtt", "episode.srt": "application/x-subrip",
                    "episode.transcript.json": "application/json"}
COVER_TYPES = {"cover.jpg": "image/jpeg", "cover.png": "image/png"}
CHAPTERS_NAME = "chapters.json"
CHAPTERS_TYPE = "application/json+chapters"
# Every file a feed links, by name, with the type it is served as.
FEED_FILES = {**EPISODE_TYPES, **TRANSCRIPT_TYPES, **COVER_TYPES, CHAPTERS_NAME: CHAPTERS_TYPE}


def number(value):
    """A finite number as a float, or None (booleans and text included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def production_of(folder):
    """The folder's production.json (stage 6's record), or {}."""
    return read_json_object(Path(folder) / "production.json") or {}


def episode_file(folder, production):
    """The episode's audio file in `folder` (production.json's choice first), or None."""
    folder = Path(folder)
    named = ((production or {}).get("episode") or {}).get("file")
    for name in ([named] if named in EPISODE_TYPES else []) + list(EPISODE_TYPES):
        if (folder / name).is_file():
            return folder / name
    return None


@lru_cache(maxsize=512)
def _probed_duration(path, _mtime_ns, _size):
    """The file's duration in seconds (cached per file version), or None when unreadable."""
    try:
        return probe(path)["duration"]
    except MediaError:
        log.warning("Cannot read the duration of %s", path, exc_info=True)
        return None


def episode_duration(path, production):
    """Seconds of the episode: probed from the file, else production.json's planned duration."""
    stat = Path(path).stat()
    seconds = _probed_duration(str(path), stat.st_mtime_ns, stat.st_size)
    if seconds is None:
        seconds = number(((production or {}).get("episode") or {}).get("planned_duration"))
    return seconds


def episode_chapters(folder):
    """[(start, title)] in episode time: production.json's chapters, else summary.json's.

    A production.json with a `chapters` list is the truth even when empty (a highlights
    episode has none that match the source); summary.json's times are the source's, right
    only for an episode that is the source as it was.
    """
    source = production_of(folder).get("chapters")
    if not isinstance(source, list):
        source = (read_json_object(Path(folder) / "summary.json") or {}).get("chapters")
    timed = []
    for chapter in source if isinstance(source, list) else []:
        start = number(chapter.get("start")) if isinstance(chapter, dict) else None
        if start is not None and start >= 0:
            title = chapter.get("title")
            timed.append((round(start, 3), title.strip() if isinstance(title, str) else ""))
    timed.sort(key=lambda chapter: chapter[0])
    return [(start, title or f"Chapter {number}") for number, (start, title) in enumerate(timed, 1)]


def chapters_document(chapters):
    """Podcasting 2.0 JSON chapters for [(start, title)]."""
    return {"version": "1.2.0",
            "chapters": [{"startTime": start, "title": title} for start, title in chapters]}


def episode_cover(folder):
    """The name of the episode's cover picture in `folder`, or None."""
    return next((name for name in COVER_TYPES if (Path(folder) / name).is_file()), None)


def episode_transcripts(folder, production):
    """[(name, type, language)] of the episode's own transcripts that exist."""
    language = ((production or {}).get("transcripts") or {}).get("language")
    return [(name, kind, language if isinstance(language, str) else None)
            for name, kind in TRANSCRIPT_TYPES.items() if (Path(folder) / name).is_file()]
