"""Batches: item ranges, URL lists, and a batch's state and progress derived from its runs."""
import re
from dataclasses import dataclass

from services.engine.estimation import Estimator
from services.engine.run_states import ACTIVE_STATES
from services.input_checks import ValidationError, validate_url

MAX_RANGE_TEXT = 200
MAX_RANGE_NUMBER = 99_999
MAX_LIST_LINES = 5_000
MAX_NAMED_LINES = 20       # bad lines named one by one in an error; the rest are counted
_RANGE_PART = re.compile(r"([0-9]{1,6})(?:\s*-\s*([0-9]{1,6}))?", re.ASCII)

FINAL_BATCH_STATES = ("completed", "completed_with_errors", "cancelled")


@dataclass
class Entry:
    """One item of a batch before it runs: its URL, title and media seconds when known."""

    url: str
    title: str = None
    duration: float = None


def parse_ranges(text):
    """The 1-based positions named by `1-10,15` (ascending, each once), or ValidationError;
    None for blank text (every entry)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str) or len(text) > MAX_RANGE_TEXT:
        raise ValidationError("playlist_items", "Items are positions such as 1-10,15 "
                              f"(at most {MAX_RANGE_TEXT} characters).", "invalid_range")
    positions = set()
    for part in text.split(","):
        match = _RANGE_PART.fullmatch(part.strip())
        if not match:
            shown = part.strip()[:20] or "an empty part"
            raise ValidationError("playlist_items", f"'{shown}' is not a position or a range: "
                                  "write items as 1-10,15.", "invalid_range")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if not 1 <= first <= last <= MAX_RANGE_NUMBER:
            raise ValidationError("playlist_items", f"'{part.strip()[:20]}': positions start at "
                                  "1, a range goes upwards, and the largest is "
                                  f"{MAX_RANGE_NUMBER}.", "invalid_range")
        positions.update(range(first, last + 1))
    return sorted(positions)


def too_many(limit, found=None):
    """The error for a batch over the configured maximum of entries."""
    what = f"{found} entries" if found else "More entries than that"
    return ValidationError("playlist_items", f"{what}: a batch holds at most {limit}. Choose "
                           f"items such as 1-{limit}, or raise batches.max_entries.",
                           "too_many_entries")


def ranges_text(positions):
    """yt-dlp's `playlist_items` text for sorted positions: [1, 2, 3, 7] -> '1-3,7'."""
    parts, start, previous = [], None, None
    for position in positions:
        if start is None:
            start = previous = position
        elif position == previous + 1:
            previous = position
        else:
            parts.append(f"{start}-{previous}" if previous != start else str(start))
            start = previous = position
    if start is not None:
        parts.append(f"{start}-{previous}" if previous != start else str(start))
    return ",".join(parts)


def parse_url_list(text, block_private=False, field="urls"):
    """Entries from text with one URL a line (blank lines and `#` comments skipped).

    Every bad line is named in one ValidationError ("line 3: …"), so all can be fixed at once.
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValidationError(field, "Give the URLs as text, one a line.", "invalid_list")
    lines = text.splitlines()
    if len(lines) > MAX_LIST_LINES:
        raise ValidationError(field, f"The list has more than {MAX_LIST_LINES} lines.",
                              "invalid_list")
    entries, bad = [], []
    for number, line in enumerate(lines, start=1):
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(Entry(validate_url(line, block_private)))
        except ValidationError as exc:
            bad.append(f"line {number} ({line[:60]!r}): {exc.message.rstrip('.')}")
    if bad:
        named = "; ".join(bad[:MAX_NAMED_LINES])
        more = f"; and {len(bad) - MAX_NAMED_LINES} more" if len(bad) > MAX_NAMED_LINES else ""
        raise ValidationError(field, f"{len(bad)} line{'s' if len(bad) > 1 else ''} of the list "
                              f"{'are not URLs' if len(bad) > 1 else 'is not a URL'} that can "
                              f"be run: {named}{more}.", "invalid_lines")
    if not entries:
        raise ValidationError(field, "The list holds no URL.", "empty_list")
    return entries


def select(entries, positions, limit):
    """The entries at `positions` (1-based; None: all), each URL once, at most `limit`."""
    if positions is not None:
        entries = [entries[p - 1] for p in positions if p <= len(entries)]
        if not entries:
            raise ValidationError("playlist_items", "No entry is at the positions given.",
                                  "empty_selection")
    unique, seen = [], set()
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            unique.append(entry)
    if len(unique) > limit:
        raise too_many(limit, len(unique))
    return unique


def batch_state(run_states):
    """A batch's state from its runs' states: running while any is live; then completed,
    cancelled (any cancelled) or completed_with_errors (any failed or interrupted)."""
    if not run_states or any(state in ACTIVE_STATES for state in run_states):
        return "running"
    if all(state == "completed" for state in run_states):
        return "completed"
    if any(state == "cancelled" for state in run_states):
        return "cancelled"
    return "completed_with_errors"


def expected_seconds(estimator, stage_keys, media_seconds):
    """How long one entry is expected to take: the estimator's sum over its stages."""
    estimator = estimator or Estimator()
    return sum(estimator.expected_seconds(key, media_seconds) for key in stage_keys)


def entry_weights(durations, estimator, stage_keys):
    """Each entry's expected seconds: from its media length when the playlist gave one, else
    the mean of the known lengths (an even share when none is known)."""
    known = [d for d in durations if d and d > 0]
    fallback = sum(known) / len(known) if known else None
    return [expected_seconds(estimator, stage_keys, d if d and d > 0 else fallback)
            for d in durations]


def overall(entries, concurrency=1):
    """(progress 0-100, seconds remaining or None) of a batch.

    `entries` are dicts with `weight` (expected seconds), `state`, `progress` (0-100) and
    `estimated_remaining` (seconds or None). Progress weights each entry by its expected
    seconds; time left sums what is left of each live entry, shared over the run slots.
    """
    total = sum(entry["weight"] for entry in entries) or 1.0
    done = sum(entry["weight"] * min(max(entry["progress"] or 0.0, 0.0), 100.0) / 100.0
               for entry in entries)
    left, longest = 0.0, 0.0
    for entry in entries:
        if entry["state"] not in ACTIVE_STATES:
            continue
        remaining = entry.get("estimated_remaining")
        if remaining is None:
            remaining = entry["weight"] * (1 - (entry["progress"] or 0.0) / 100.0)
        left += remaining
        if entry["state"] == "running":
            longest = max(longest, remaining)
    remaining = max(left / max(concurrency, 1), longest) if left else 0.0
    return round(min(100.0, 100.0 * done / total), 2), round(remaining, 1)
