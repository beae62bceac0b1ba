"""Stage 6: clips, the episode and its loudness → `episode.m4a`, `clips/NN.m4a`, `clips/NN.srt`,
`cover.jpg`, the episode's transcripts and `publication.json`.

Everything is cut from the best-quality audio (`audio_hq.*`) in ffmpeg, each ffmpeg in its own
process group so a cancel ends it at once:
- each selected segment becomes a clip with short fades and its own subtitles;
- the episode is the whole programme with long pauses shortened (`full`), or the segments
  joined with crossfades (`highlights`); a leveller brings quiet and loud voices together; an
  intro, an outro and a music bed (looped, faded, ducked under speech by a sidechain
  compressor) come from `<data_dir>/assets`;
- clips and episode are normalised in two passes to the loudness target and encoded;
- the episode gets its cover, chapters and tags embedded and transcripts in its own time
  (services/stages/episode_package.py).
`production.json` records the plan: the timeline of kept source ranges, the chapters re-timed
to the episode, the loudness method and input, and the branding used.
"""
import os
import shutil

from services.assets import asset_path, assets_dir
from services.engine.checkpoints import input_fingerprint
from services.engine.context import StageError
from services.media import loudness
from services.media.ffmpeg import MediaError, probe, run_ffmpeg
from services.media.normalize import SAMPLE_RATE, normalize_and_encode
from services.media.subtitles import to_srt
from services.media.timeline import retime
from services.podcast.identity import PUBLICATION_FILE
from services.stages import episode_package

VERSION = 2
OUTPUTS = ("episode.m4a", "episode.mp3", "clips/", "production.json", episode_package.COVER,
           *episode_package.TRANSCRIPTS, PUBLICATION_FILE)
LEVELER = "dynaudnorm=f=250:g=7:p=0.9:m=10:r=0.5"
DEFAULTS = {"episode_mode": "full", "max_pause_seconds": 1.5, "pause_keep_seconds": 0.75,
            "format": "m4a", "bitrate": "128k", "clip_fade_seconds": 0.05,
            "crossfade_seconds": 0.4, "leveling": True, "intro": None, "outro": None,
            "music_bed": None, "music_level_db": -20.0, "music_fade_seconds": 2.0,
            "cover": None}
MODES = ("full", "highlights")
BLOCK = 0.01   # seconds: the full programme is cut in whole blocks of this length
FORMATS = ("m4a", "mp3")


def settings_of(ctx):
    """The `production` settings over their defaults."""
    return {**DEFAULTS, **(ctx.settings.get("production") or {})}


def _assets_folder(ctx):
    return assets_dir(ctx.settings.get("data_dir"))


def _asset(ctx, name):
    """The path of an asset named in the settings (inside `<data_dir>/assets`), or None."""
    if not name:
        return None
    path = asset_path(ctx.settings.get("data_dir"), str(name))
    if path is None:
        raise StageError(f"The asset {str(name)[:80]!r} is not a file in the data folder's assets/.")
    return path


def parameters(ctx):
    """Everything that changes the produced audio, and the inputs it is made from."""
    section = settings_of(ctx)
    assets = [_assets_folder(ctx) / str(section[k]) for k in ("intro", "outro", "music_bed")
              if section.get(k)]
    return {"version": VERSION, **{k: section[k] for k in DEFAULTS},
            "target": list(loudness.target(ctx.settings)),
            "album": (ctx.settings.get("feed") or {}).get("title"),
            "inputs": input_fingerprint(ctx.episode_dir, "segments.json", "analysis.json",
                                        "summary.json", "audio_hq.flac", "metadata.json",
                                        "transcript.json", *assets,
                                        *episode_package.cover_inputs(ctx))}


def _source(ctx):
    for name in ("audio_hq.flac", "audio_hq.wav", "audio.wav"):
        if ctx.path(name).is_file():
            return ctx.path(name)
    raise StageError("audio_hq.flac is missing: run Media Extraction (stage 1) first.")


def kept_ranges(speech, duration, max_pause, keep):
    """Source ranges to keep so that no pause is longer than `max_pause` (shortened to `keep`,
    half of it after the last word before the pause and half before the first word after it)."""
    if not speech:
        return [(0.0, duration)]
    start = speech[0][0] - keep / 2 if speech[0][0] > max_pause else 0.0
    ranges, previous_end = [], speech[0][1]
    for first, last in speech[1:]:
        if first - previous_end > max_pause:
            ranges.append((start, previous_end + keep / 2))
            start = first - keep / 2
        previous_end = max(previous_end, last)
    end = previous_end + keep / 2 if duration - previous_end > max_pause else duration
    ranges.append((start, end))
    return [(round(max(a, 0.0), 3), round(min(b, duration), 3)) for a, b in ranges if b > a]


def on_grid(ranges):
    """The ranges with both ends on the BLOCK grid the programme is cut in, so that each range
    keeps exactly its length and the timeline adds up to the audio (no drift per cut)."""
    snapped = [(round(round(a / BLOCK) * BLOCK, 3), round(round(b / BLOCK) * BLOCK, 3))
               for a, b in ranges]
    return [(a, b) for a, b in snapped if b > a]


def _program_filter(section, mode, ranges, has_intro, has_outro, has_bed, channels, program):
    """The filter graph: programme (kept ranges or crossfaded segments) → leveller → bed → intro/outro."""
    fmt = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts={'mono' if channels == 1 else 'stereo'}"
    parts = []
    if mode == "full":
        # Whole 10 ms blocks from a to b (both on the grid), with 2 ms of slack for rounding.
        select = "+".join(f"between(t,{a - 0.002:.3f},{b - BLOCK + 0.002:.3f})" for a, b in ranges)
        parts.append(f"[0:a]{fmt},asetnsamples=n={round(SAMPLE_RATE * BLOCK)}:p=0,"
                     f"aselect='{select}',asetpts=N/SR/TB[prog0]")
    else:
        labels = []
        for index in range(len(ranges)):
            parts.append(f"[{index}:a]{fmt}[seg{index}]")
            labels.append(f"seg{index}")
        current = labels[0]
        for index, label in enumerate(labels[1:], start=1):
            parts.append(f"[{current}][{label}]acrossfade=d={section['crossfade_seconds']}[x{index}]")
            current = f"x{index}"
        parts.append(f"[{current}]anull[prog0]")
    base = 1 if mode == "full" else len(ranges)
    parts.append(f"[prog0]{LEVELER if section['leveling'] else 'anull'}[prog]")
    last = "prog"
    extra = base
    if has_bed:
        fade = float(section["music_fade_seconds"])
        parts.append("[prog]asplit=2[voice][key]")
        parts.append(f"[{extra}:a]{fmt},volume={float(section['music_level_db'])}dB,"
                     f"afade=t=in:d={fade},afade=t=out:st={max(program - fade, 0.0):.3f}:d={fade},"
                     f"atrim=0:{program:.3f}[bedraw]")
        parts.append("[bedraw][key]sidechaincompress=threshold=0.01:ratio=12:attack=20:"
                     "release=600:makeup=1[ducked]")
        parts.append("[voice][ducked]amix=inputs=2:duration=first:normalize=0[mixed]")
        last = "mixed"
        extra += 1
    pieces = []
    if has_intro:
        parts.append(f"[{extra}:a]{fmt}[intro]")
        pieces.append("intro")
        extra += 1
    pieces.append(last)
    if has_outro:
        parts.append(f"[{extra}:a]{fmt}[outro]")
        pieces.append("outro")
    if len(pieces) > 1:
        parts.append("".join(f"[{p}]" for p in pieces) + f"concat=n={len(pieces)}:v=0:a=1[out]")
    else:
        parts.append(f"[{last}]anull[out]")
    return ";".join(parts)


def _channels(source):
    import av

    try:
        with av.open(str(source)) as container:
            stream = container.streams.audio[0]
            return 1 if stream.codec_context.channels == 1 else 2
    except (av.error.FFmpegError, IndexError, OSError):
        return 2


def _clip_cues(sentences, segment, clip_length):
    """Subtitle cues for a clip: its sentences, re-timed to the clip and kept inside it."""
    cues = []
    for sentence in sentences[segment["first_sentence"]:segment["last_sentence"] + 1]:
        start = max(sentence["start"] - segment["start"], 0.0)
        end = min(sentence["end"] - segment["start"], clip_length)
        if end - start > 0.05:
            cues.append({"start": round(start, 3), "end": round(end, 3), "text": sentence["text"]})
    return cues


def _replace(part, final):
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, final)


def run(ctx):
    """Cut the clips, make the programme, normalise loudness and encode."""
    section = settings_of(ctx)
    mode, fmt = section["episode_mode"], section["format"]
    if mode not in MODES:
        raise StageError(f"production.episode_mode must be one of {', '.join(MODES)}.")
    if fmt not in FORMATS:
        raise StageError(f"production.format must be one of {', '.join(FORMATS)}.")
    target_i, target_tp = loudness.target(ctx.settings)
    source = _source(ctx)
    analysis = ctx.read_json("analysis.json", "Content Analysis (stage 3)")
    chosen = ctx.read_json("segments.json", "Segment Selection (stage 4)").get("segments") or []
    summary = ctx.read_json("summary.json")
    sentences = analysis.get("sentences") or []
    duration = float(analysis.get("duration") or probe(source)["duration"] or 0.0)
    channels = _channels(source)
    intro, outro, bed = (_asset(ctx, section.get(k)) for k in ("intro", "outro", "music_bed"))
    work = ctx.path(".production")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        clips = _clips(ctx, section, source, chosen, sentences, channels, target_i, target_tp, work)
        plan = _program(ctx, section, mode, source, chosen, analysis, duration, channels,
                        intro, outro, bed, work)
        ctx.sub_stage("Normalizing loudness")
        episode_name = f"episode.{fmt}"
        part = work / episode_name
        program_seconds = plan["planned_duration"]

        encoding = []

        def progress(fraction):
            """Pass 1 (measuring) is "Normalizing loudness", pass 2 "Encoding"."""
            if fraction > 0.5 and not encoding:
                encoding.append(True)
                ctx.sub_stage("Encoding")
            done = (fraction - 0.5 if encoding else fraction) * 2 * program_seconds
            ctx.progress(round(done, 1), round(program_seconds, 1), "s",
                         f"{done:.0f} s of {program_seconds:.0f} s "
                         f"{'encoded' if encoding else 'measured'}")

        chapters = _episode_chapters(analysis, summary, plan, mode)
        result = normalize_and_encode(work / "program.wav", part, fmt, section["bitrate"],
                                      target_i, target_tp, ctx.cancel, program_seconds, progress,
                                      channels=channels, measured=plan["measured"])
        if not encoding:
            ctx.sub_stage("Encoding")
        packaged = episode_package.package(ctx, part, work, plan, mode, chapters, program_seconds)
        _replace(part, ctx.path(episode_name))
        ctx.log.info("Episode: %s, %.1f s, loudness by %s (input %.1f LUFS, %.1f dBTP)",
                     episode_name, program_seconds, result["method"], result["input"]["i"],
                     result["input"]["tp"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    production = {
        "mode": mode, "format": fmt,
        "episode": {"file": episode_name, "planned_duration": round(program_seconds, 3),
                    "program_offset": round(plan["program_offset"], 3)},
        "clips": clips, "timeline": plan["timeline"], "chapters": chapters,
        "loudness": {"target_lufs": target_i, "target_tp": target_tp, **result},
        "branding": {"intro": section.get("intro"), "outro": section.get("outro"),
                     "music_bed": section.get("music_bed"),
                     "music_level_db": float(section["music_level_db"])},
        "leveling": LEVELER if section["leveling"] else None,
        **packaged,
    }
    ctx.write_json("production.json", production)
    return ([episode_name, "production.json", episode_package.COVER, PUBLICATION_FILE,
             *episode_package.TRANSCRIPTS] + [c["file"] for c in clips]
            + [c["srt"] for c in clips])


def _episode_chapters(analysis, summary, plan, mode):
    """The chapters in episode time: stage 3's, re-timed (full), or one a highlight; an
    "Intro" chapter first when an intro comes before the programme."""
    offset = plan["program_offset"]
    if mode == "highlights":
        chapters = [{"start": round(out + offset, 3), "title": f"Highlight {i + 1}"}
                    for i, (_, _, out) in enumerate(plan["timeline"])]
    else:
        titles = {c.get("index"): c.get("title") for c in summary.get("chapters") or []}
        chapters = [{"start": round(retime(c["start"], plan["timeline"]) + offset, 3),
                     "title": titles.get(c.get("index")) or c.get("title")
                     or f"Part {c.get('index', 0) + 1}"}
                    for c in analysis.get("chapters") or []]
    if chapters:   # the programme's opening belongs to its first chapter
        chapters[0]["start"] = round(offset, 3)
    if offset > 0 and chapters:
        chapters.insert(0, {"start": 0.0, "title": "Intro"})
    return chapters


def _clips(ctx, section, source, chosen, sentences, channels, target_i, target_tp, work):
    ctx.sub_stage("Cutting clips")
    fmt = section["format"]
    fade = float(section["clip_fade_seconds"])
    clips = []
    for number, segment in enumerate(chosen, start=1):
        length = float(segment["end"]) - float(segment["start"])
        raw = work / f"clip{number:02d}.wav"
        leveler = f"{LEVELER}," if section["leveling"] else ""
        run_ffmpeg(["-ss", f"{segment['start']:.3f}", "-to", f"{segment['end']:.3f}", "-i", str(source),
                    "-af", f"{leveler}afade=t=in:d={fade},afade=t=out:st={max(length - fade, 0):.3f}:d={fade}",
                    "-ar", str(SAMPLE_RATE), "-c:a", "pcm_f32le", str(raw)], ctx.cancel, length)
        name = f"clips/{number:02d}.{fmt}"
        part = work / f"{number:02d}.{fmt}"

        def progress(fraction, number=number):
            ctx.progress(round(number - 1 + fraction, 2), len(chosen), "clips",
                         f"clip {number} of {len(chosen)}")

        normalize_and_encode(raw, part, fmt, section["bitrate"], target_i, target_tp, ctx.cancel,
                             length, progress, channels=channels)
        _replace(part, ctx.path(name))
        srt = f"clips/{number:02d}.srt"
        ctx.path("clips").mkdir(exist_ok=True)
        ctx.write_text(srt, to_srt(_clip_cues(sentences, segment, length)))
        clips.append({"file": name, "srt": srt, "segment": segment.get("index", number - 1),
                      "source_start": segment["start"], "source_end": segment["end"],
                      "planned_duration": round(length, 3)})
        ctx.progress(number, len(chosen), "clips", f"clip {number} of {len(chosen)} made")
    return clips


def _program(ctx, section, mode, source, chosen, analysis, duration, channels, intro, outro, bed, work):
    ctx.sub_stage("Mixing intro/outro and music bed")
    if mode == "full":
        speech = [tuple(item) for item in (analysis.get("speech") or {}).get("segments") or []]
        ranges = on_grid(kept_ranges(speech, duration, float(section["max_pause_seconds"]),
                                     float(section["pause_keep_seconds"])))
        timeline, out = [], 0.0
        for start, end in ranges:
            timeline.append([start, end, round(out, 3)])
            out += end - start
        program = out
        inputs = ["-i", str(source)]
        removed = duration - program
        ctx.log.info("Full episode: %d pause(s) over %.1f s shortened, %.1f s removed",
                     max(len(ranges) - 1, 0), float(section["max_pause_seconds"]), removed)
    else:
        if not chosen:
            raise StageError("There are no segments to join: run Segment Selection (stage 4).")
        ranges = [(float(s["start"]), float(s["end"])) for s in chosen]
        crossfade = float(section["crossfade_seconds"])
        timeline, out = [], 0.0
        inputs = []
        for index, (start, end) in enumerate(ranges):
            timeline.append([start, end, round(out, 3)])
            out += (end - start) - (crossfade if index < len(ranges) - 1 else 0)
            inputs += ["-ss", f"{start:.3f}", "-to", f"{end:.3f}", "-i", str(source)]
        program = out
    offset = 0.0
    extra_inputs = []
    if bed:
        extra_inputs += ["-stream_loop", "-1", "-i", str(bed)]
    if intro:
        offset = probe(intro)["duration"] or 0.0
        extra_inputs += ["-i", str(intro)]
    if outro:
        extra_inputs += ["-i", str(outro)]
    outro_seconds = (probe(outro)["duration"] or 0.0) if outro else 0.0
    graph = _program_filter(section, mode, ranges, bool(intro), bool(outro), bool(bed), channels,
                            program)
    if bed:
        ctx.log.info("Music bed %s at %.0f dB, ducked under speech", section["music_bed"],
                     float(section["music_level_db"]))
    planned = offset + program + outro_seconds
    # The mix is measured on its way to the file: pass 1 of the loudness normalisation.
    graph += f";[out]asplit=2[final][meter];[meter]{loudness.meter()},anullsink"
    lines = []
    try:
        run_ffmpeg([*inputs, *extra_inputs, "-filter_complex", graph, "-map", "[final]",
                    "-ar", str(SAMPLE_RATE), "-c:a", "pcm_f32le", str(work / "program.wav")],
                   ctx.cancel, planned,
                   lambda seconds: ctx.progress(round(seconds, 1), round(planned, 1), "s",
                                                f"{seconds:.0f} s of {planned:.0f} s mixed"),
                   stderr_lines=lines)
        measured = loudness.parse_ebur128(lines)
        measured.pop("curve")
    except MediaError as exc:
        raise StageError(f"The episode could not be mixed: {exc}") from exc
    made = probe(work / "program.wav")["duration"] or planned
    return {"timeline": timeline, "planned_duration": made, "program_offset": offset,
            "measured": measured}
