"""Transcript segments written as SRT, WebVTT, Podcasting 2.0 JSON and plain text; WebVTT read
back into cues.

Written cue text is one line with its whitespace collapsed and control characters removed, so no
cue can hold a blank line; WebVTT escapes `&`, `<` and `>`, SRT writes `-->` as `->`.
"""
import html
import json
import re

# Control characters (and lone surrogates) that str.split() does not already treat as spaces.
_UNPRINTABLE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
_ARROW = re.compile(r"-{2,}>")


def _clock(seconds, separator):
    millis = int(round(max(seconds, 0) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def cue_line(text):
    """Cue text as one line: controls removed, whitespace runs (line breaks too) made one space."""
    return " ".join(_UNPRINTABLE.sub("", str(text or "")).split())


def to_srt(segments):
    """SubRip text for segments with `start`, `end` and `text` (one line a cue, `-->` as `->`)."""
    blocks = []
    for number, segment in enumerate(segments, start=1):
        text = _ARROW.sub("->", cue_line(segment["text"]))
        blocks.append(f"{number}\n{_clock(segment['start'], ',')} --> "
                      f"{_clock(segment['end'], ',')}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(segments):
    """WebVTT text for segments with `start`, `end` and `text` (one line a cue, `&<>` escaped)."""
    cues = [f"{_clock(s['start'], '.')} --> {_clock(s['end'], '.')}\n"
            f"{html.escape(cue_line(s['text']), quote=False)}\n"
            for s in segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_podcast_json(cues, language=None):
    """The Podcasting 2.0 JSON transcript (version 1.0.0) of cues with `start`, `end`, `text`
    and an optional `speaker`.

    `language`, when given, is written as a top-level `language` member; the format itself does
    not define one (feeds give it on `<podcast:transcript>`), and readers ignore it.
    """
    segments = []
    for cue in cues:
        speaker = cue_line(cue.get("speaker"))
        segment = {"speaker": speaker} if speaker else {}
        segment.update(startTime=round(max(float(cue["start"]), 0.0), 3),
                       endTime=round(max(float(cue["end"]), 0.0), 3), body=cue_line(cue["text"]))
        segments.append(segment)
    document = {"version": "1.0.0", "segments": segments}
    if language:
        document["language"] = cue_line(language)
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=2) + "\n"


def to_text(segments):
    """The transcript as plain text, one segment a line."""
    return "".join(segment["text"].strip() + "\n" for segment in segments)


# --- reading WebVTT (the creator's subtitles from yt-dlp) -------------------------------------

_STAMP = r"(?:(\d{1,5}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_STAMP}\s*-->\s*{_STAMP}(?:\s.*)?$")
_SKIPPED_BLOCKS = re.compile(r"^(?:WEBVTT|NOTE|STYLE|REGION)(?:[ \t].*)?$")
# [^<>] rather than .*? keeps the work linear on text full of unclosed "<".
_RUBY_TEXT = re.compile(r"<(rt|rp)\b[^<>]*>[^<]*</\1\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>\n]*>")
ROLLING_GAP = 0.1  # seconds between cues that still count as one rolling caption
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")


def _seconds(hours, minutes, seconds, fraction):
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")


def _clean_line(line):
    """Cue text without tags (voice, class, karaoke timestamps, ruby), entities or marks."""
    text = _TAG.sub("", _RUBY_TEXT.sub("", line))
    text = _INVISIBLE.sub("", html.unescape(text)).replace("\xa0", " ")
    return " ".join(text.split())


def _add_cue(cues, shown, start, end, lines):
    """Append a cue; lines it repeats from the cue just before it (rolling captions, which
    follow on at once) are left out. `shown` holds the previous cue's lines and end."""
    lines = [line for line in map(_clean_line, lines) if line]
    follows_on = start <= shown["end"] + ROLLING_GAP
    overlap = next((size for size in range(min(len(lines), len(shown["lines"])), 0, -1)
                    if lines[:size] == shown["lines"][-size:]), 0) if follows_on else 0
    if lines:
        shown.update(lines=lines, end=end)
    new = lines[overlap:]
    if new:
        cues.append({"start": start, "end": end, "text": " ".join(new)})
    elif lines and cues:  # the same lines shown on: the cue before lasts longer
        cues[-1]["end"] = max(cues[-1]["end"], end)


def parse_vtt(text):
    """Cues [{start, end, text}] (seconds, plain text) of WebVTT `text`, sorted by start.

    Lenient: a missing header, hours-less or comma timestamps, CRLF, a BOM and stray lines are
    accepted; NOTE, STYLE and REGION blocks, cue settings, tags and empty cues are dropped, and
    lines repeated from the previous cue (rolling captions) are kept once. Never raises on text.
    """
    if not isinstance(text, str):
        return []
    cues, shown, current, skipping = [], {"lines": [], "end": float("-inf")}, None, False
    for line in text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        timing = _TIMING.match(line)
        if timing:
            if current:
                _add_cue(cues, shown, *current)
            start, end = _seconds(*timing.group(1, 2, 3, 4)), _seconds(*timing.group(5, 6, 7, 8))
            current = (start, end, []) if None not in (start, end) and end >= start else None
            skipping = current is None
        elif not line.strip():
            if current:
                _add_cue(cues, shown, *current)
            current, skipping = None, False
        elif current is not None:
            current[2].append(line)
        elif not skipping and _SKIPPED_BLOCKS.match(line):
            skipping = True
    if current:
        _add_cue(cues, shown, *current)
    return sorted(cues, key=lambda cue: cue["start"])


def estimated_words(start, end, text):
    """Words of a cue with times shared out by character length: [{start, end, word}].

    Words carry a leading space, as faster-whisper's do.
    """
    tokens = text.split()
    total = sum(map(len, tokens)) or 1
    span, done, words = max(end - start, 0.0), 0, []
    for token in tokens:
        first = start + span * done / total
        done += len(token)
        words.append({"start": round(first, 3), "end": round(start + span * done / total, 3),
                      "word": " " + token})
    return words
