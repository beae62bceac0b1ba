"""Chapters as YouTube takes them in a description: `MM:SS Title` lines.

YouTube's rules: the first chapter starts at 00:00, there are at least three, they ascend, and
each lasts at least 10 seconds.
"""
import re

from services.formatting import format_clock

MIN_CHAPTERS = 3
MIN_SECONDS = 10
LINE = re.compile(r"^(?:(\d{1,2}):)?(\d{1,2}):(\d{2}) (\S.*)$", re.ASCII)


def chapter_lines(chapters, duration=None):
    """`MM:SS Title` lines (`H:MM:SS` past an hour) for chapters with `start` and `title`."""
    long_media = bool(duration and duration >= 3600)
    lines = []
    for index, chapter in enumerate(chapters):
        start = 0 if index == 0 else int(chapter["start"])
        clock = format_clock(start)
        if long_media and clock.count(":") == 1:
            clock = f"0:{clock}"
        title = " ".join(str(chapter.get("title") or f"Part {index + 1}").split())
        lines.append(f"{clock} {title}")
    return lines


def parse_time(text):
    """Seconds of `MM:SS` or `H:MM:SS`; None when it is not such a time."""
    match = re.fullmatch(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})", text, re.ASCII)
    if not match or int(match.group(3)) > 59 or (match.group(1) and int(match.group(2)) > 59):
        return None
    return int(match.group(1) or 0) * 3600 + int(match.group(2)) * 60 + int(match.group(3))


def check_chapter_lines(lines, duration=None):
    """The ways `lines` break YouTube's chapter rules (an empty list when they follow them)."""
    problems, times = [], []
    for number, line in enumerate(lines, start=1):
        time_text, _, title = line.partition(" ")
        seconds = parse_time(time_text)
        if seconds is None or not title.strip():
            problems.append(f"line {number} is not 'MM:SS Title': {line[:60]!r}")
            continue
        times.append(seconds)
    if problems:
        return problems
    if len(times) < MIN_CHAPTERS:
        problems.append(f"YouTube needs at least {MIN_CHAPTERS} chapters; there are {len(times)}")
    if times and times[0] != 0:
        problems.append("the first chapter must start at 00:00")
    for before, after in zip(times, times[1:]):
        if after <= before:
            problems.append(f"{format_clock(after)} does not come after {format_clock(before)}")
        elif after - before < MIN_SECONDS:
            problems.append(f"the chapter at {format_clock(before)} is shorter than {MIN_SECONDS} s")
    if duration is not None and times and duration - times[-1] < MIN_SECONDS:
        problems.append(f"the last chapter is shorter than {MIN_SECONDS} s")
    return problems
