"""Manual segment review: what the segment page shows, and Continue (store, then run 5-7)."""
import json
import os
from pathlib import Path

from services.text import selection
from services.text.sentences import transcript_words
from storage.models import utcnow

PLAYABLE_AUDIO = ("audio_hq.flac", "audio.wav")


def _read(folder, name):
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _segments(items):
    keep = ("start", "end", "duration", "text", "reason", "score", "source")
    return [{key: item.get(key) for key in keep} | {"source": item.get("source") or "proposed"}
            for item in items or [] if isinstance(item, dict)
            and isinstance(item.get("start"), (int, float)) and isinstance(item.get("end"), (int, float))]


def review_data(pipeline, run):
    """The segment page's data for `run` (see routes/segments.py)."""
    folder = Path(pipeline.episodes_root) / run.episode_dir
    saved = _read(folder, "segments.json")
    analysis = _read(folder, "analysis.json")
    transcript = _read(folder, "transcript.json")
    summary = _read(folder, "summary.json")
    sentences = [{"index": s.get("index", i), "start": s["start"], "end": s["end"], "text": s.get("text", "")}
                 for i, s in enumerate(analysis.get("sentences") or []) if isinstance(s, dict)]
    try:
        words = [[round(w["start"], 3), round(w["end"], 3)] for w in transcript_words(transcript)]
    except (KeyError, TypeError, ValueError):
        words = []
    titles = [c.get("title") for c in summary.get("chapters") or [] if isinstance(c, dict)]
    chapters = []
    for number, chapter in enumerate(analysis.get("chapters") or [], start=1):
        if isinstance(chapter, dict) and "start" in chapter:
            title = chapter.get("title") or (titles[number - 1] if number <= len(titles) else None)
            chapters.append({"start": chapter["start"], "end": chapter.get("end"),
                             "title": title or f"Chapter {number}"})
    duration = float(analysis.get("duration") or run.media_duration or transcript.get("duration") or 0.0)
    audio = next((name for name in PLAYABLE_AUDIO if (folder / name).is_file()), None)
    current = _segments(saved.get("segments"))
    return {
        "session_id": run.session_id,
        "state": run.state,
        "awaiting": run.state == "awaiting_selection",
        "status": saved.get("status"),
        "duration": duration,
        "bounds": selection.bounds(pipeline.settings_of(run)),
        "segments": current,
        "proposed": _segments(saved.get("proposed")) or current,
        "sentences": sentences,
        "words": words,
        "chapters": chapters,
        "audio": audio,
        "wav": str(folder / "audio.wav") if (folder / "audio.wav").is_file() else None,
    }


def store_selection(folder, spans, accept_note, data):
    """Write the confirmed selection into segments.json (atomically), keeping the proposal."""
    path = Path(folder) / "segments.json"
    saved = _read(folder, "segments.json")
    proposed = saved.get("proposed") or saved.get("segments") or []
    stored = selection.describe(spans, data["sentences"], proposed)
    saved.update({"status": "confirmed", "source": "review", "confirmed_at": utcnow().isoformat(
        timespec="seconds"), "segments": stored, "proposed": proposed, "warnings_accepted": accept_note})
    tmp = path.with_name(".segments.json.part")
    tmp.write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return stored


def confirm(pipeline, session_id, items, accept_warnings=False):
    """Check and store a selection for a waiting run, then run its remaining stages."""
    if not pipeline.store.has_run(session_id):
        return None
    with pipeline.recorder.locked(session_id), pipeline.store.editing(session_id) as run:
        if run.state != "awaiting_selection":
            raise selection.SelectionError(
                "not_awaiting_selection", f"This run is {run.state.replace('_', ' ')}, not waiting "
                "for a selection.", "session_id", status=409)
        data = review_data(pipeline, run)
        limits = data["bounds"]
        spans, warnings = selection.check(items, data["duration"], limits, bool(accept_warnings))
        folder = Path(pipeline.episodes_root) / run.episode_dir
        stored = store_selection(folder, spans, warnings, data)
        status = pipeline.continue_run(run)
    return {"status": status, "session_id": session_id, "segments": stored, "warnings": warnings}


def has_selection(folder):
    """Whether the folder holds what a new selection needs (analysis and segments)."""
    folder = Path(folder)
    return (folder / "segments.json").is_file() and (folder / "analysis.json").is_file()
