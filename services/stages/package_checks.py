"""Stage 7's checks of what makes the episode publishable: the chapters and tags embedded in the
episode file, the cover, and the episode's transcripts in its own time.

Each check gives findings ({"level", "check", "message"}, level ok, warning or error) like the
rest of stage 7. An episode folder made before stage 6 embedded chapters and tags and wrote the
cover and transcripts has none of them, nor their keys in production.json: what it lacks is a
warning (running Audio Production again adds it), not an error.

A WebVTT transcript is read by its timing lines, one cue each, as a player reads the file (a
subtitle reader that joins repeated captions or drops odd cues would hide what is wrong).
"""
import json
import re
from pathlib import Path

from services.media.cover import MAX_SIZE, MIN_SIZE, picture_size
from services.media.ffmpeg import MediaError
from services.media.tagging import prepare_chapters, read_metadata
from services.stages.episode_package import COVER, TRANSCRIPTS

CHAPTER_TOLERANCE = 0.1      # seconds an embedded chapter may start from its planned time
CUE_TOLERANCE = 0.1          # seconds a transcript cue may run past the end of the episode
PACKAGE_KEYS = ("cover", "tags", "transcripts")   # what production.json notes of the package
OLDER = "the episode was made before stage 6 added this: run Audio Production again to add it"
SHOWN_PROBLEMS = 5
SRT_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})")
VTT_STAMP = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
VTT_TIMING = re.compile(rf"^{VTT_STAMP}[ \t]+-->[ \t]+{VTT_STAMP}(?:[ \t].*)?$")


def finding(level, check, message):
    """One result of a check: level ok, warning or error."""
    return {"level": level, "check": check, "message": message}


def parse_srt(text):
    """SRT cues as [{"start", "end", "text"}]; raises ValueError on a block it cannot read."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.strip().split("\n")
        if not lines or not lines[0].strip():
            continue
        timing = 1 if "-->" not in lines[0] else 0
        if len(lines) <= timing or "-->" not in lines[timing]:
            raise ValueError(f"block {len(cues) + 1} has no timing line")
        start_text, _, end_text = lines[timing].partition("-->")
        start, end = SRT_TIME.search(start_text), SRT_TIME.search(end_text)
        if not start or not end:
            raise ValueError(f"block {len(cues) + 1} has an unreadable time: {lines[timing]!r}")
        seconds = [int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000
                   for m in (start, end)]
        cues.append({"start": seconds[0], "end": seconds[1],
                     "text": "\n".join(lines[timing + 1:]).strip()})
    return cues


def _shown(problems):
    """The first problems joined, with how many more there are."""
    more = len(problems) - SHOWN_PROBLEMS
    return "; ".join(problems[:SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")


def check_embedded_chapters(name, planned, embedded, duration, older=False):
    """The chapters read back from the episode file against production.json's: the same count
    and titles, each start within CHAPTER_TOLERANCE. They are compared with what tagging writes
    from the plan (titles cleaned, chapters at or after the end left out); an .m4a's first
    chapter reads as starting at 0, as a QuickTime chapter track does."""
    if not planned:
        return finding("ok", "embedded chapters", "no chapters")
    if not embedded and older:
        return finding("warning", "embedded chapters", f"{name} carries no chapters; {OLDER}")
    try:
        expected = [[start / 1000, title] for start, _, title
                    in prepare_chapters(planned, duration if duration else 1e9)]
    except (AttributeError, TypeError, ValueError):
        return finding("error", "embedded chapters", "production.json's chapters cannot be read")
    if expected and str(name).lower().endswith(".m4a"):
        expected[0][0] = 0.0
    problem = None
    for number, ((start, title), chapter) in enumerate(zip(expected, embedded), start=1):
        if abs(float(chapter["start"]) - start) > CHAPTER_TOLERANCE:
            problem = (f"chapter {number} ({title!r}) starts at {float(chapter['start']):.2f} s "
                       f"in the file, {start:.2f} s in production.json")
        elif chapter["title"] != title:
            problem = (f"chapter {number} is titled {chapter['title']!r} in the file, "
                       f"{title!r} in production.json")
        if problem:
            break
    if len(expected) != len(embedded):
        counts = f"the file has {len(embedded)} chapters, production.json {len(expected)}"
        problem = f"{counts}; {problem}" if problem else counts
    if problem:
        return finding("error", "embedded chapters", f"{name}: {problem}")
    return finding("ok", "embedded chapters", f"{name}: {len(embedded)} chapters, as planned "
                   f"(each within {CHAPTER_TOLERANCE} s)")


def check_tags(name, tags):
    """The title and album tags, which players and directories show, are in the file."""
    missing = [key for key in ("title", "album") if not str(tags.get(key) or "").strip()]
    if missing:
        return finding("warning", "tags", f"{name} has no {' and no '.join(missing)} tag")
    return finding("ok", "tags", f"{name}: title {tags['title']!r}, album {tags['album']!r}")


def check_cover(path, embedded, name=None):
    """cover.jpg is a square of MIN_SIZE–MAX_SIZE px and the episode file `name` (None: not
    checked) carries a cover; directories such as Apple's refuse art of another size."""
    path = Path(path)
    problems = []
    if not path.is_file():
        problems.append(f"there is no {path.name}")
    else:
        try:
            width, height = picture_size(path)
        except MediaError as exc:
            problems.append(str(exc))
        else:
            if width != height or not MIN_SIZE <= width <= MAX_SIZE:
                problems.append(f"{path.name} is {width}×{height} px, not a square of "
                                f"{MIN_SIZE}–{MAX_SIZE} px")
    if name and not embedded:
        problems.append(f"{name} carries no cover")
    if problems:
        return finding("warning", "cover", _shown(problems))
    embedded_note = f", embedded in {name}" if name else ""
    return finding("ok", "cover", f"{path.name}: {width}×{height} px{embedded_note}")


def _podcast_json_cues(text):
    """The cues of a Podcasting 2.0 JSON transcript; ValueError when it is not one."""
    document = json.loads(text)
    segments = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(segments, list):
        raise ValueError("it has no segments list")
    cues = []
    for number, segment in enumerate(segments, start=1):
        try:
            cues.append({"start": float(segment["startTime"]), "end": float(segment["endTime"]),
                         "text": str(segment.get("body") or "")})
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(f"segment {number} has no startTime and endTime") from None
    return cues


def _vtt_cues(text):
    """The cues of WebVTT text, one for each timing line (cue text is not read); a line holding
    `-->` that is not a timing line is cue text a player may take for one. Returns (cues, such
    lines); ValueError without the WEBVTT header."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not re.match(r"WEBVTT(?:[ \t]|$)", lines[0]):
        raise ValueError("it does not start with WEBVTT")
    cues, arrows = [], []
    for line in lines:
        timing = VTT_TIMING.match(line)
        if timing:
            stamps = [int(h or 0) * 3600 + int(m) * 60 + int(sec) + int(ms) / 1000
                      for h, m, sec, ms in (timing.groups()[:4], timing.groups()[4:])]
            cues.append({"start": stamps[0], "end": stamps[1]})
        elif "-->" in line:
            arrows.append(line)
    return cues, arrows


def _read_transcript(path):
    """(cues, lines of cue text holding `-->`) of one episode transcript; ValueError (or
    OSError, UnicodeDecodeError) when it cannot be read."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".srt":
        return parse_srt(text), []
    if path.suffix == ".json":
        return _podcast_json_cues(text), []
    return _vtt_cues(text)


def cue_problems(cues, duration):
    """What is wrong with transcript cues in an episode of `duration` seconds (None: unknown)."""
    problems = []
    previous = 0.0
    for number, cue in enumerate(cues, start=1):
        start, end = cue["start"], cue["end"]
        if start < 0 or (duration is not None and end > duration + CUE_TOLERANCE):
            episode = f"0–{duration:.2f} s" if duration is not None else "from 0 s"
            problems.append(f"cue {number} ({start:.2f}–{end:.2f} s) is outside the episode "
                            f"({episode})")
        if end < start:
            problems.append(f"cue {number} ends before it starts")
        if start < previous:
            problems.append(f"cue {number} starts before the cue before it")
        previous = start
    return problems


def check_transcripts(folder, duration, noted=None):
    """episode.vtt, .srt and .transcript.json: each there and readable, every cue inside the
    episode and in order, the same number of cues in each; a warning for `-->` in VTT cue text.
    `noted` is production.json's "transcripts" (None: the episode predates them)."""
    folder, noted = Path(folder), noted if isinstance(noted, dict) else None
    missing = [name for name in TRANSCRIPTS if not (folder / name).is_file()]
    if len(missing) == len(TRANSCRIPTS) and not noted:
        return [finding("warning", "episode transcripts", f"there are no episode transcripts "
                        f"({', '.join(TRANSCRIPTS)}); {OLDER}")]
    problems = [f"{name} is missing" for name in missing]
    counts, found = {}, []
    for name in (n for n in TRANSCRIPTS if n not in missing):
        try:
            cues, arrows = _read_transcript(folder / name)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{name} cannot be read: {exc}")
            continue
        counts[name] = len(cues)
        problems += [f"{name}: {problem}" for problem in cue_problems(cues, duration)]
        if arrows:
            found.append(finding("warning", "episode transcripts", f"{name}: {len(arrows)} cue "
                                 f"line(s) hold a raw '-->', which players may read as a "
                                 f"timing line: {arrows[0].strip()[:80]!r}"))
    if len(set(counts.values())) > 1:
        problems.append("the number of cues differs: " + ", ".join(
            f"{name} {count}" for name, count in counts.items()))
    elif counts and isinstance((noted or {}).get("cues"), int) \
            and noted["cues"] != next(iter(counts.values())):
        problems.append(f"production.json notes {noted['cues']} cues, the files hold "
                        f"{next(iter(counts.values()))}")
    if problems:
        return [finding("error", "episode transcripts", _shown(problems)), *found]
    count = next(iter(counts.values()))
    return [finding("ok", "episode transcripts", f"{', '.join(TRANSCRIPTS)}: {count} cues each, "
                    f"inside the episode and in order"), *found]


def check_package(folder, production, episode, duration):
    """Every check of this module for the episode folder: `episode` is the episode file's name
    (None when it is missing or unreadable) and `duration` its length in seconds."""
    folder = Path(folder)
    older = not any(key in production for key in PACKAGE_KEYS)
    found, embedded = [], None
    if episode:
        try:
            embedded = read_metadata(folder / episode)
        except MediaError as exc:
            found.append(finding("error", "tags", str(exc)))
    if embedded is not None:
        found.append(check_embedded_chapters(episode, production.get("chapters") or [],
                                             embedded["chapters"], duration, older))
        found.append(check_tags(episode, embedded["tags"]))
    found.append(check_cover(folder / COVER, embedded and embedded["cover"],
                             episode if embedded is not None else None))
    for item in found:
        if older and item["level"] == "warning" and item["check"] in ("tags", "cover"):
            item["message"] += f"; {OLDER}"
    found.extend(check_transcripts(folder, duration, production.get("transcripts")))
    return found
