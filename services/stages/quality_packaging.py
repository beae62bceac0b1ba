"""Stage 7: measure and check what stage 6 made → `manifest.json`, `report.html`.

Reads `production.json` (what Audio Production made and planned), the episode and clip audio
and subtitles, `metadata.json`, `transcript.json` and `checkpoints.json`. Each output's
loudness is measured again with ffmpeg's ebur128 filter, durations are probed, subtitle cues
and chapters checked, and the episode's embedded chapters and tags, cover and transcripts
(`package_checks`); every check becomes a finding (ok, warning, error) and the findings a
verdict: `failed` with any error, `warnings` with any warning, else `passed`. A failed verdict
does not fail the stage: the report that says why is its result.
"""
import hashlib
import importlib.metadata
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from services.engine.checkpoints import CHECKPOINT_FILE, input_fingerprint, list_files
from services.formatting import format_clock, human_bytes
from services.media import loudness
from services.media.ffmpeg import MediaError, ffmpeg_path, probe
from services.stages.episode_package import COVER, TRANSCRIPTS
from services.stages.package_checks import check_package, finding, parse_srt
from services.workers.processes import ProcessFailed, process_lines

OUTPUTS = ("manifest.json", "report.html")
VERSION = 1
DURATION_TOLERANCE = 0.1     # seconds between planned and real length
LOUDNESS_TOLERANCE = 1.0     # LU around the integrated target
PEAK_TOLERANCE = 0.5         # dB over the true-peak ceiling
WIDE_RANGE = 8.0             # LU of loudness range that a listener notices
COVERAGE_WARNING = 0.5       # share of the media the transcript should cover
MEDIA_SUFFIXES = {".m4a", ".mp3", ".mp4", ".wav", ".flac", ".webm", ".opus", ".ogg", ".mkv",
                  ".aac", ".mov", ".m4v"}
NOT_LISTED = {"manifest.json", "report.html", CHECKPOINT_FILE}  # rewritten after the manifest
TEMPLATES = Path(__file__).resolve().parent.parent / "report_templates"


def inputs(folder):
    """The files a report is made from: the plan, the metadata, the episode, its cover and
    transcripts, its clips and the transcript."""
    clips = sorted(f"clips/{p.name}" for p in (Path(folder) / "clips").glob("*") if p.is_file())
    return ["production.json", "metadata.json", "episode.m4a", "episode.mp3", "transcript.json",
            COVER, *TRANSCRIPTS, *clips]


def parameters(ctx):
    """What decides whether an earlier report can be reused."""
    return {"version": VERSION, "target": list(loudness.target(ctx.settings)),
            "inputs": input_fingerprint(ctx.episode_dir, *inputs(ctx.episode_dir))}


def check_duration(name, real, planned):
    """The real length against the planned one."""
    if real is None:
        return finding("error", "duration", f"{name}: its length cannot be read")
    if planned is None:
        return finding("warning", "duration", f"{name} lasts {real:.2f} s; production.json "
                       "gives no planned length to compare")
    diff = real - float(planned)
    level = "ok" if abs(diff) <= DURATION_TOLERANCE else "error"
    return finding(level, "duration", f"{name} lasts {real:.2f} s, planned {float(planned):.2f} s "
                   f"({diff:+.2f} s; allowed ±{DURATION_TOLERANCE} s)")


def check_loudness(name, measured, goal):
    """Integrated loudness, true peak and loudness range against the target."""
    lufs, peak = goal
    found = []
    off = measured["i"] - lufs
    found.append(finding("ok" if abs(off) <= LOUDNESS_TOLERANCE else "error", "loudness",
                         f"{name}: {measured['i']:.1f} LUFS integrated, target {lufs:.1f} "
                         f"({off:+.1f} LU; allowed ±{LOUDNESS_TOLERANCE:.0f} LU)"))
    found.append(finding("ok" if measured["tp"] <= peak + PEAK_TOLERANCE else "error", "true peak",
                         f"{name}: true peak {measured['tp']:.1f} dBTP, ceiling {peak:.1f} "
                         f"(allowed up to {peak + PEAK_TOLERANCE:.1f})"))
    if measured["lra"] > WIDE_RANGE:
        found.append(finding("warning", "loudness range", f"{name}: loudness range "
                             f"{measured['lra']:.1f} LU is wide (over {WIDE_RANGE:.0f} LU)"))
    return found


def check_subtitles(name, cues, duration):
    """Every cue inside the clip, not empty, in order; one finding for the file."""
    problems = []
    previous = 0.0
    for number, cue in enumerate(cues, start=1):
        if cue["start"] < 0 or cue["end"] > duration + DURATION_TOLERANCE:
            problems.append(f"cue {number} ({cue['start']:.2f}–{cue['end']:.2f} s) is outside the "
                            f"clip (0–{duration:.2f} s)")
        if cue["end"] <= cue["start"]:
            problems.append(f"cue {number} ends before it starts")
        if cue["start"] < previous:
            problems.append(f"cue {number} starts before the cue before it")
        if not cue["text"]:
            problems.append(f"cue {number} has no text")
        previous = cue["start"]
    if not cues:
        return finding("error", "subtitles", f"{name} has no cues")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return finding("error", "subtitles", f"{name}: {shown}")
    return finding("ok", "subtitles", f"{name}: {len(cues)} cues, all inside the clip and in order")


def check_chapters(chapters, duration):
    """Chapters start inside the episode, in order, the first at 0:00."""
    if not chapters:
        return [finding("ok", "chapters", "the episode has no chapters")]
    try:
        starts = [float(c["start"]) for c in chapters]
    except (KeyError, TypeError, ValueError):
        return [finding("error", "chapters", "a chapter in production.json has no start time")]
    found = []
    outside = [format_clock(s) for s in starts if s < 0 or (duration and s >= duration)]
    if outside:
        found.append(finding("error", "chapters", f"chapters start outside the episode "
                             f"(0–{format_clock(duration)}): {', '.join(outside)}"))
    if any(b <= a for a, b in zip(starts, starts[1:])):
        found.append(finding("error", "chapters", "chapter starts are not in ascending order"))
    if abs(starts[0]) > 0.05:
        found.append(finding("warning", "chapters", f"the first chapter starts at "
                             f"{format_clock(starts[0])}, not 00:00 (players expect 00:00)"))
    if any(not str(c.get("title") or "").strip() for c in chapters):
        found.append(finding("warning", "chapters", "a chapter has no title"))
    return found or [finding("ok", "chapters", f"{len(chapters)} chapters, in order, from 00:00")]


def transcript_coverage(segments, duration):
    """Share of `duration` covered by the union of the segments' [start, end]."""
    if not duration:
        return 0.0
    covered, reach = 0.0, 0.0
    for start, end in sorted((float(s["start"]), float(s["end"])) for s in segments):
        start, end = max(start, reach), min(end, duration)
        if end > start:
            covered += end - start
            reach = end
    return covered / duration


def verdict_of(findings):
    """failed with any error, warnings with any warning, else passed."""
    levels = {f["level"] for f in findings}
    return "failed" if "error" in levels else "warnings" if "warning" in levels else "passed"


def sha256_file(path, cancel):
    """The file's sha256, read in 1 MiB blocks, noticing a cancel between them."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            cancel.raise_if_cancelled()
    return digest.hexdigest()


def tool_versions(cancel):
    """Versions of the tools that made the episode (None for one not installed)."""
    versions = {}
    for name in ("yt-dlp", "faster-whisper", "ctranslate2"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    try:
        with closing(process_lines([ffmpeg_path(), "-hide_banner", "-version"], cancel)) as lines:
            output = list(lines)
        first = output[0].strip() if output else ""
        versions["ffmpeg"] = first.removeprefix("ffmpeg version ").split(" Copyright")[0] or None
    except (OSError, ProcessFailed):
        versions["ffmpeg"] = None
    return versions


def render_report(context):
    """report.html from services/report_templates/report.html.j2 (everything autoescaped)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["clock"] = format_clock
    environment.filters["bytes"] = human_bytes
    return environment.get_template("report.html.j2").render(**context)


def _expected_outputs(ctx, production):
    """The episode and clip files production.json names, as (role, media, planned, srt)."""
    episode = production.get("episode") or {}
    name = episode.get("file") or ("episode.mp3" if ctx.path("episode.mp3").is_file()
                                   else "episode.m4a")
    outputs = [("episode", name, episode.get("planned_duration"), None)]
    for clip in production.get("clips") or []:
        outputs.append(("clip", clip.get("file"), clip.get("planned_duration"), clip.get("srt")))
    return outputs


def _measure_all(ctx, outputs, findings):
    """Probe and measure each output that exists; missing ones become error findings."""
    present = []
    for role, name, planned, srt in outputs:
        if not name or not ctx.path(name).is_file():
            findings.append(finding("error", "files", f"{name or 'a ' + role + ' file'} is missing"))
            continue
        try:
            duration = probe(ctx.path(name))["duration"]
        except MediaError as exc:
            findings.append(finding("error", "files", str(exc)))
            continue
        present.append({"role": role, "file": name, "planned": planned, "srt": srt,
                        "duration": duration})
    total = sum(item["duration"] or 0 for item in present) or 1.0
    done = 0.0
    for number, item in enumerate(present, start=1):
        description = f"{item['file']} ({number} of {len(present)})"
        length = item["duration"] or 0.0

        def on_progress(seconds):
            ctx.progress(round(done + min(seconds, length or seconds), 1), round(total, 1), "s",
                         description)

        on_progress(0.0)
        try:
            item["measured"] = loudness.measure(ctx.path(item["file"]), ctx.cancel, on_progress)
        except MediaError as exc:
            ctx.log.warning("%s", exc, exc_info=True)
            findings.append(finding("error", "loudness", str(exc)))
        done += length
        ctx.progress(round(done, 1), round(total, 1), "s",
                     f"{number} of {len(present)} files measured")
    return present


def _check_all(ctx, production, present, goal, findings):
    """Durations, loudness, subtitles, chapters, what makes the episode publishable (embedded
    chapters and tags, cover, episode transcripts) and transcript coverage."""
    for item in present:
        findings.append(check_duration(item["file"], item["duration"], item["planned"]))
        if "measured" in item:
            findings.extend(check_loudness(item["file"], item["measured"], goal))
    for role, name, _, srt in _expected_outputs(ctx, production):
        if role != "clip":
            continue
        if not srt or not ctx.path(srt).is_file():
            findings.append(finding("error", "files", f"the subtitles of {name} "
                                    f"({srt or 'not named in production.json'}) are missing"))
            continue
        clip = next((p for p in present if p["file"] == name), None)
        try:
            cues = parse_srt(ctx.path(srt).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            findings.append(finding("error", "subtitles", f"{srt} cannot be read: {exc}"))
            continue
        if clip and clip["duration"]:
            findings.append(check_subtitles(srt, cues, clip["duration"]))
    episode = next((p for p in present if p["role"] == "episode"), None)
    findings.extend(check_chapters(production.get("chapters") or [],
                                   episode["duration"] if episode else None))
    planned_length = (production.get("episode") or {}).get("planned_duration")
    findings.extend(check_package(ctx.episode_dir, production, episode and episode["file"],
                                  episode["duration"] if episode else planned_length))
    planned = production.get("loudness") or {}
    if planned.get("target_lufs") is not None and (
            abs(float(planned["target_lufs"]) - goal[0]) > 0.05
            or abs(float(planned.get("target_tp", goal[1])) - goal[1]) > 0.05):
        findings.append(finding("warning", "loudness", f"stage 6 aimed at {planned['target_lufs']} "
                                f"LUFS / {planned.get('target_tp')} dBTP; the settings now ask for "
                                f"{goal[0]} / {goal[1]}"))
    transcript = ctx.read_json("transcript.json")
    duration = float(transcript.get("duration") or ctx.read_json("metadata.json").get("duration")
                     or 0)
    if not transcript:
        findings.append(finding("warning", "transcript coverage", "there is no transcript.json"))
    else:
        share = transcript_coverage(transcript.get("segments") or [], duration)
        findings.append(finding("ok" if share >= COVERAGE_WARNING else "warning",
                                "transcript coverage", f"the transcript covers {share:.0%} of the "
                                f"{format_clock(duration)} of media"))


def _file_list(ctx, durations):
    """Every listed file of the folder with its size, sha256 and (media) duration."""
    names = sorted(n for n in list_files(ctx.episode_dir)
                   if not any(part.startswith(".") for part in Path(n).parts)
                   and n not in NOT_LISTED)
    total = sum(ctx.path(n).stat().st_size for n in names) or 1
    done, files = 0, []
    for name in names:
        path = ctx.path(name)
        size = path.stat().st_size
        duration = None
        if path.suffix.lower() in MEDIA_SUFFIXES:
            duration = durations.get(name)
            if duration is None:
                try:
                    duration = probe(path)["duration"]
                except MediaError:
                    duration = None
        files.append({"path": name, "size": size, "sha256": sha256_file(path, ctx.cancel),
                      "duration": round(duration, 3) if duration is not None else None})
        done += size
        ctx.progress(done, total, "bytes", f"hashing {name}")
    return files


def run(ctx):
    """Measure the episode and clips, check them, write manifest.json and report.html."""
    ctx.sub_stage("Measuring loudness and peaks")
    production = ctx.read_json("production.json", "Audio Production (stage 6)")
    goal = loudness.target(ctx.settings)
    findings = []
    present = _measure_all(ctx, _expected_outputs(ctx, production), findings)

    ctx.sub_stage("Checking durations and subtitle timing")
    _check_all(ctx, production, present, goal, findings)
    verdict = verdict_of(findings)
    ctx.progress(1, 1, "steps", f"verdict: {verdict}")

    ctx.sub_stage("Writing report")
    checkpoints = ctx.read_json(CHECKPOINT_FILE)
    from services.stages import STAGES  # here, not at import: that package imports this module

    measurements = {"episode": None, "clips": []}
    for item in present:
        measured = item.get("measured") or {}
        entry = {"file": item["file"], "i": measured.get("i"), "lra": measured.get("lra"),
                 "tp": measured.get("tp"), "duration": item["duration"]}
        if item["role"] == "episode":
            measurements["episode"] = entry
        else:
            measurements["clips"].append(entry)
    manifest = {
        "verdict": verdict,
        "findings": findings,
        "measurements": measurements,
        "files": _file_list(ctx, {p["file"]: p["duration"] for p in present}),
        "stage_timings": {s.key: (checkpoints.get(s.key) or {}).get("completed_at") for s in STAGES},
        "parameters": {key: entry.get("parameters") for key, entry in checkpoints.items()
                       if isinstance(entry, dict)},
        "target": {"integrated_lufs": goal[0], "true_peak_dbtp": goal[1]},
        "versions": tool_versions(ctx.cancel),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    metadata = ctx.read_json("metadata.json")
    episode = next((p for p in present if p["role"] == "episode"), None)
    chart = None
    if episode and episode.get("measured"):
        chart = loudness.chart(episode["measured"]["curve"], goal[0], episode["duration"])
    html = render_report({
        "title": metadata.get("title") or ctx.episode_dir.name, "manifest": manifest,
        "findings": sorted(findings, key=lambda f: ("error", "warning", "ok").index(f["level"])),
        "mode": production.get("mode"), "chapters": production.get("chapters") or [],
        "chart": chart, "peak_limit": goal[1] + PEAK_TOLERANCE,
        "loudness_tolerance": LOUDNESS_TOLERANCE,
        "rows": [m for m in [measurements["episode"], *measurements["clips"]] if m],
    })
    ctx.write_json("manifest.json", manifest)
    ctx.write_text("report.html", html)
    log = ctx.log.warning if verdict != "passed" else ctx.log.info
    log("Quality verdict: %s (%d errors, %d warnings)", verdict,
        sum(f["level"] == "error" for f in findings), sum(f["level"] == "warning" for f in findings))
    ctx.progress(1, 1, "files", "report written")
    return list(OUTPUTS)
