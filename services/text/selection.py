"""A hand-made segment selection: what the review page shows, and the checks on Continue.

The review page edits the proposal of stage 4 (`segments.json`); a confirmed selection is
written back into `segments.json` with `status: confirmed`, so stages 5-7 (and a later run's
checkpoint) use it, and the proposal is kept beside it.
"""
import math

from services.stages.segment_selection import DEFAULTS as SEGMENT_DEFAULTS

MAX_SEGMENTS = 100
EDGE_TOLERANCE = 0.05   # seconds a segment may reach past the media's end (rounding)


class SelectionError(Exception):
    """A selection that cannot be used; `warnings` are the ones the user may accept instead."""

    def __init__(self, code, message, field="segments", warnings=(), status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.warnings = list(warnings)
        self.status = status


def _finite(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and abs(value) < 1e9)


def bounds(settings):
    """The length bounds and count a selection is checked against."""
    section = {**SEGMENT_DEFAULTS, **(settings.get("segments") or {})}
    return {"min_seconds": float(section["min_seconds"]), "max_seconds": float(section["max_seconds"]),
            "count": int(section["count"])}


def check(items, duration, limits, accept_warnings=False):
    """Sorted [(start, end)] from the sent items, or SelectionError.

    Errors: not a list of {start, end} numbers, none, too many, outside the media, end not
    after start, shorter than the minimum, overlapping. A segment longer than the maximum is a
    warning: refused (409) unless `accept_warnings`.
    """
    if not isinstance(items, list):
        raise SelectionError("invalid_selection", "segments must be a list of {start, end} objects.")
    if not items:
        raise SelectionError("empty_selection", "Keep at least one segment.")
    if len(items) > MAX_SEGMENTS:
        raise SelectionError("too_many_segments", f"At most {MAX_SEGMENTS} segments.")
    spans = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not _finite(item.get("start")) or not _finite(item.get("end")):
            raise SelectionError("invalid_segment",
                                 f"Segment {number}: start and end must be numbers of seconds.")
        spans.append((float(item["start"]), float(item["end"]), number))
    spans.sort()
    warnings = []
    previous = None
    for position, (start, end, number) in enumerate(spans, start=1):
        if start < 0 or (duration and end > duration + EDGE_TOLERANCE):
            raise SelectionError("outside_media", f"Segment {position} ({start:.2f}-{end:.2f} s) is "
                                 f"outside the media (0-{duration:.2f} s).")
        if end <= start:
            raise SelectionError("invalid_segment", f"Segment {position} ends before it starts.")
        length = end - start
        if length < limits["min_seconds"]:
            raise SelectionError("too_short", f"Segment {position} is {length:.1f} s long; the "
                                 f"minimum is {limits['min_seconds']:g} s.")
        if length > limits["max_seconds"]:
            warnings.append(f"Segment {position} is {length:.1f} s long, over the "
                            f"{limits['max_seconds']:g} s maximum.")
        if previous is not None and start < previous:
            raise SelectionError("overlap", f"Segments {position - 1} and {position} overlap.")
        previous = end
    if warnings and not accept_warnings:
        raise SelectionError("needs_confirmation", " ".join(warnings) + " Continue anyway?",
                             warnings=warnings, status=409)
    end_limit = duration if duration else None
    return [(round(start, 3), round(min(end, end_limit) if end_limit else end, 3))
            for start, end, _ in spans], warnings


def describe(spans, sentences, proposed=()):
    """The stored segments: times, text of the sentences inside, and where each came from."""
    kept = {(round(p["start"], 3), round(p["end"], 3)): p for p in proposed}
    segments = []
    for index, (start, end) in enumerate(spans):
        inside = [s for s in sentences if s["end"] > start and s["start"] < end]
        original = kept.get((start, end))
        segments.append({
            "index": index, "start": start, "end": end, "duration": round(end - start, 3),
            "first_sentence": inside[0].get("index") if inside else None,
            "last_sentence": inside[-1].get("index") if inside else None,
            "text": " ".join(s["text"] for s in inside),
            "score": original.get("score") if original else None,
            "reason": original.get("reason") if original else "Chosen by hand.",
            "source": "proposed" if original else "manual",
        })
    return segments
