"""A run's transcript for the run page's viewer: timed sentences, chapters, language, length.

Sentences come from `analysis.json` (stage 3) when it has any, else from the segments of
`transcript.json` (stage 2). Either file may be missing or edited by hand into something else:
entries without a usable start, end and text are dropped, never an error.
"""
import math
from pathlib import Path

from services.json_files import read_json_object

SOURCES = ("analysis.json", "transcript.json")


def _number(value):
    """A finite number, or None (booleans and strings included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _timed_texts(entries):
    """[{start, end, text}] of the entries with a text and 0 <= start <= end, sorted by start."""
    if not isinstance(entries, list):
        return []
    timed = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            continue
        start, end = _number(entry.get("start")), _number(entry.get("end"))
        text = entry["text"].strip()
        if start is None or start < 0 or not text:
            continue
        timed.append({"start": start, "end": max(end if end is not None else start, start),
                      "text": text})
    return sorted(timed, key=lambda sentence: sentence["start"])


def has_transcript(folder):
    """Whether the episode folder holds a transcript or an analysis to show."""
    return any((Path(folder) / name).is_file() for name in SOURCES)


def load_transcript(folder):
    """The viewer's data: sentences, language and duration (None when unknown)."""
    folder = Path(folder)
    analysis = read_json_object(folder / "analysis.json") or {}
    transcript = read_json_object(folder / "transcript.json") or {}
    sentences = (_timed_texts(analysis.get("sentences"))
                 or _timed_texts(transcript.get("segments")))
    languages = (analysis.get("language"), transcript.get("language"))
    language = next((value.strip() for value in languages
                     if isinstance(value, str) and value.strip()), None)
    duration = _number(analysis.get("duration")) or _number(transcript.get("duration"))
    if duration is None and sentences:
        duration = max(sentence["end"] for sentence in sentences)
    return {"sentences": sentences, "language": language, "duration": duration}
