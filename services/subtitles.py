"""Transcript segments written as SRT, WebVTT and plain text."""


def _clock(seconds, separator):
    millis = int(round(max(seconds, 0) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(segments):
    """SubRip text for segments with `start`, `end` and `text`."""
    blocks = []
    for number, segment in enumerate(segments, start=1):
        blocks.append(f"{number}\n{_clock(segment['start'], ',')} --> "
                      f"{_clock(segment['end'], ',')}\n{segment['text'].strip()}\n")
    return "\n".join(blocks)


def to_vtt(segments):
    """WebVTT text for segments with `start`, `end` and `text`."""
    cues = [f"{_clock(s['start'], '.')} --> {_clock(s['end'], '.')}\n{s['text'].strip()}\n"
            for s in segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_text(segments):
    """The transcript as plain text, one segment a line."""
    return "".join(segment["text"].strip() + "\n" for segment in segments)
