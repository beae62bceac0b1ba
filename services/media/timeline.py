"""Source times on the episode: the production timeline `[[src_start, src_end, out_start], ...]`
of stage 6, and the transcript's words made into subtitle cues in episode time.

In `full` mode the kept ranges follow one another in the output (long pauses shortened); in
`highlights` mode the chosen segments are joined with crossfades, so their ranges may overlap in
the output and need not follow the source order. An episode time is the programme time plus the
intro's length (`program_offset`).
"""
import math

from services.media.subtitles import cue_line

MODES = ("full", "highlights")
MIN_CUE_SECONDS = 0.2
CLAUSE_END = ",.;:?!"


def retime(moment, timeline):
    """Where a source time lands in the episode, by the timeline [(src_start, src_end, out_start)]."""
    for start, end, out in timeline:
        if moment < start:
            return out
        if moment <= end:
            return out + (moment - start)
    return timeline[-1][2] + (timeline[-1][1] - timeline[-1][0]) if timeline else moment


def place(moment, timeline):
    """The programme time of a source time inside a kept range, else None; of overlapping
    ranges, the first one holding it wins."""
    slot = _holding(moment, timeline)
    if slot is None:
        return None
    start, _, out = timeline[slot]
    return out + (moment - start)


def _holding(moment, timeline):
    """Index of the first range holding a source time, or None."""
    return next((index for index, (start, end, _) in enumerate(timeline)
                 if start <= moment <= end), None)


def _retimed_into(moment, timeline):
    """Index of the range `retime` maps a source time into (-1 for an empty timeline)."""
    return next((index for index, (_, end, _) in enumerate(timeline) if moment <= end),
                len(timeline) - 1)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _span(item):
    """(start, end) of a word or segment, end never before start; None without a start."""
    start, end = item.get("start"), item.get("end")
    if not _number(start):
        return None
    return float(start), max(float(end), float(start)) if _number(end) else float(start)


def _mapped(start, end, timeline, mode):
    """(range index, programme start, programme end) of a source span, or None when highlights
    leave it out.

    Highlights keep a span by the first range holding its start or, failing that, its middle
    (a word cut by a segment's start is kept when most of it is heard); its times are clamped
    to that range.
    """
    if mode == "full":
        return _retimed_into(start, timeline), retime(start, timeline), retime(end, timeline)
    slot = _holding(start, timeline)
    if slot is None:
        slot = _holding((start + end) / 2, timeline)
    if slot is None:
        return None
    first, last, out = timeline[slot]
    return slot, out + max(start, first) - first, out + min(end, last) - first


def _runs(segment, timeline, mode):
    """The kept words of a segment as runs in one timeline range: [[(slot, start, end, word)]]."""
    runs = []
    for word in segment.get("words") or []:
        span = _span(word) if isinstance(word, dict) else None
        placed = _mapped(*span, timeline, mode) if span else None
        if placed is None:
            continue
        item = (placed[0], round(placed[1], 3), round(max(placed[2], placed[1]), 3),
                str(word.get("word") or ""))
        if runs and runs[-1][-1][0] == item[0]:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _text(items):
    return cue_line("".join(item[3] for item in items))


def _too_long(items, max_seconds, max_chars):
    return items[-1][2] - items[0][1] > max_seconds or len(_text(items)) > max_chars


def _keeps(items):
    """How many words a cue that must be cut keeps: up to the last word ending a clause when
    that keeps at least half of them, else all."""
    for count in range(len(items), 0, -1):
        if count * 2 < len(items):
            break
        if items[count - 1][3].rstrip().endswith(tuple(CLAUSE_END)):
            return count
    return len(items)


def _pieces(run, max_seconds, max_chars):
    """A run of words cut at word boundaries into pieces within the limits (a single word
    over them stays whole)."""
    pieces, current = [], []
    for item in run:
        if current and _too_long(current + [item], max_seconds, max_chars):
            count = _keeps(current)
            pieces.append(current[:count])
            current = current[count:]
            if current and _too_long(current + [item], max_seconds, max_chars):
                pieces.append(current)
                current = []
        current.append(item)
    return pieces + [current] if current else pieces


def _wordless(segment, timeline, mode):
    """The cue of a segment without timed words, or None: (slot, start, end, text)."""
    span = _span(segment)
    placed = _mapped(*span, timeline, mode) if span else None
    if placed is None or mode == "highlights" and _holding(span[0], timeline) is None:
        return None
    return placed[0], round(placed[1], 3), round(max(placed[2], placed[1]), 3), segment.get("text")


def _settled(raw, offset, episode_length):
    """Cues in episode time, in order and not overlapping, clamped, at least MIN_CUE_SECONDS
    when there is room.

    A cue ends where the next one starts; a cue that would start no later than the one before
    it (crossfaded segments) is joined to that one.
    """
    cues = []
    for _, start, end, text in sorted(raw, key=lambda item: (item[0], item[1])):
        text = cue_line(text)
        if not text:
            continue
        start, end = round(max(start + offset, 0.0), 3), round(max(end + offset, 0.0), 3)
        if cues and start <= cues[-1]["start"]:
            cues[-1].update(end=max(cues[-1]["end"], end), text=f"{cues[-1]['text']} {text}")
            continue
        if cues and start < cues[-1]["end"]:
            cues[-1]["end"] = start
        cues.append({"start": start, "end": end, "text": text})
    limit = math.inf if episode_length is None else float(episode_length)
    cues = [cue for cue in cues if cue["start"] < limit]
    for index, cue in enumerate(cues):
        room = min(cues[index + 1]["start"] if index + 1 < len(cues) else math.inf, limit)
        shortest = min(cue["start"] + MIN_CUE_SECONDS, room)
        cue["end"] = round(min(max(cue["end"], shortest), limit), 3)
    return cues


def episode_cues(segments, timeline, mode, program_offset=0.0, episode_length=None,
                 max_cue_seconds=7.0, max_cue_chars=120):
    """Subtitle cues [{start, end, text}] in episode time from transcript segments in source time.

    Each word is mapped through the timeline (`full`: `retime`, every word kept; `highlights`:
    words outside every range dropped). A cue is a run of kept words of one segment within one
    timeline range, cut to at most `max_cue_seconds` and `max_cue_chars` at a word boundary,
    preferably after a word ending a clause. A segment without timed words is one cue.
    Cues follow the timeline's order, do not overlap, lie within [0, episode_length], and
    last at least MIN_CUE_SECONDS when the next cue leaves room.
    """
    if mode not in MODES:
        raise ValueError(f"unknown episode mode {mode!r}")
    raw = []
    for segment in segments or []:
        if not any(isinstance(word, dict) and _span(word) for word in segment.get("words") or []):
            cue = _wordless(segment, timeline, mode)
            raw.extend([cue] if cue else [])
            continue
        for run in _runs(segment, timeline, mode):
            for piece in _pieces(run, max_cue_seconds, max_cue_chars):
                raw.append((piece[0][0], piece[0][1], piece[-1][2], _text(piece)))
    return _settled(raw, float(program_offset or 0.0), episode_length)
