"""How publishable stage 6's episode package is, over the evaluation set's audio episodes.

Each audio episode (bench/make_eval_set.py; missing ones are made first), transcribed as
bench/chapters.py does it (cached), goes through stages 3-5 (real code, in this process, settings
of config.yaml) in a folder that also holds `audio_hq.flac` and `metadata.json`, then through
stage 6 twice: the configured `production` settings, and `max_pause_seconds` 0.3 (the least
allowed) with `pause_keep_seconds` 0.15 (`--aggressive MAX KEEP`). Stage 3's speech segments are
padded, so most gaps between these episodes' sentences are 0.15-0.45 s and only the aggressive
setting cuts many. One row per case and setting:

1. Cue timing: the episode itself, decoded to 16 kHz mono, is transcribed the same way (cached
   by its audio's hash); each cue of `episode.vtt` is matched to the heard word equal to its
   first word (lowercase, no punctuation), nearest within ±3 s, among those followed within two
   words by the cue's second word (so a first word heard differently does not match another
   "the" a second away). Median and p95 of |cue start − heard start|, the share matched, the
   p95 by the first word alone, and the error of the first cue at or after each cut. Range
   drift: one second from the middle of each kept source range, found in the episode by
   cross-correlation; the largest |where it is − where the timeline puts it|.
2. Chapters read back from the file: count, and largest |start − production.json's|.
3. Cues of `episode.vtt` and `episode.transcript.json` inside [0, episode duration], in order,
   not overlapping.
4. Cover: `cover.jpg`'s size (PyAV) and bytes; goal square, 1400–3000 px.
5. Seconds of the packaging step (`episode_package.package`) and of all of stage 6 (`--runs N`:
   the median of N).

Then totals per setting (cues pooled; median and min–max across cases) and the goals: median cue
error ≤ 0.25 s, p95 ≤ 0.6 s, chapters within 0.1 s in every case, every cue inside the episode.

    .venv/bin/python bench/episode_package.py [--quick] [--only NAME ...] [--runs N] [--details]
                                              [--aggressive MAX KEEP]
"""
import argparse
import json
import logging
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import make_eval_set  # sets up the import path of the benchmarks and the project
from eval_set import episodes, evaluate  # noqa: E402
from harness import Quiet, percentile  # noqa: E402

from services.config.loading import load_settings  # noqa: E402

QUICK = ("a01_1min_1v_2t", "a14_2min_1v_2t_slow", "a03_3min_2v_3t_pink15",
         "a09_3min_2v_2t_dialogue_brown18")
AGGRESSIVE = (0.3, 0.15)   # max_pause_seconds, pause_keep_seconds
WINDOW = 3.0          # seconds either side of a cue's start where its first word is looked for
GOALS = {"median": 0.25, "p95": 0.6, "chapters": 0.1}
CACHE = make_eval_set.OUT / "_episode_package"   # transcriptions of the produced episodes
TOLERANCE = 0.0005    # WebVTT times are whole milliseconds


def fmt(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def normalised(word):
    return re.sub(r"[^a-z0-9]", "", str(word).lower())


def ffmpeg(*args):
    """Run ffmpeg; its standard output."""
    from services.media.ffmpeg import ffmpeg_path

    return subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", *args],
                          check=True, capture_output=True).stdout


def prepare(case, settings, work):
    """An episode folder of `case` after stages 3-5, with audio_hq.flac; (folder, seconds)."""
    truth = json.loads((case / "truth.json").read_text())
    transcript, _ = evaluate.transcribe(case / "audio.m4a", settings)
    folder = evaluate.episode_folder(case, transcript, truth["duration"], work)
    (folder / "metadata.json").write_text(json.dumps(
        {"title": case.name.replace("_", " "), "duration": truth["duration"],
         "uploader": "Evaluation set", "webpage_url": f"https://bench.invalid/{case.name}"}))
    ffmpeg("-i", str(case / "audio.m4a"), "-map", "0:a:0", "-vn", "-c:a", "flac",
           str(folder / "audio_hq.flac"))
    times = evaluate.run_stages(folder, settings)
    return folder, sum(times.values())


def run_stage6(folder, settings, runs):
    """Stage 6 `runs` times on `folder`; (median seconds of the stage, of the packaging step,
    timed by wrapping `episode_package.package`, which stage 6 looks up on every run)."""
    from unittest import mock

    from services.engine.cancel import CancelToken
    from services.engine.context import StageContext
    from services.stages import episode_package, get_stage

    whole, packaging, original = [], [], episode_package.package

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            packaging.append(time.perf_counter() - started)
    with mock.patch.object(episode_package, "package", timed):
        for _ in range(runs):
            ctx = StageContext("bench", f"https://bench.invalid/{folder.name}", folder, settings,
                               CancelToken(), Quiet())
            started = time.perf_counter()
            get_stage(6).run(ctx)
            whole.append(time.perf_counter() - started)
    return statistics.median(whole), statistics.median(packaging)


def heard_words(episode, settings, cache):
    """The produced episode's words as transcribed: [(text, start)]; seconds spent (0: cached)."""
    wav = episode.with_name("episode-16k.wav")
    ffmpeg("-i", str(episode), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(wav))
    transcript, seconds = evaluate.transcribe(wav, settings, cache)
    keep = cache / f"transcript-{evaluate.cache_key(wav, settings['whisper'])}.json"
    for stale in set(cache.glob("transcript-*.json")) - {keep}:   # one per case and setting
        stale.unlink()
    wav.unlink()
    words = [(normalised(w["word"]), float(w["start"]))
             for s in transcript["segments"] for w in s.get("words") or []]
    return [w for w in words if w[0]], seconds


def cue_error(cue, heard, confirm=True):
    """|cue start − start of the nearest heard word equal to its first word| (`confirm`: and
    followed within two words by its second word), or None."""
    tokens = [t for t in map(normalised, cue["text"].split()) if t]
    if not tokens:
        return None

    def confirmed(index):
        following = [word for word, _ in heard[index + 1:index + 3]]
        return not confirm or len(tokens) < 2 or tokens[1] in following
    near = [abs(start - cue["start"]) for index, (text, start) in enumerate(heard)
            if text == tokens[0] and abs(start - cue["start"]) <= WINDOW and confirmed(index)]
    return min(near) if near else None


def range_drift(folder, production, rate=16000):
    """Largest |where one second from the middle of each kept source range is heard in the
    episode − where the timeline puts it| (normalised cross-correlation within ±0.5 s)."""
    import numpy as np

    def pcm(path):
        raw = ffmpeg("-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "s16le", "-")
        return np.frombuffer(raw, np.int16).astype(np.float64)
    source, episode = pcm(folder / "audio_hq.flac"), pcm(folder / production["episode"]["file"])
    offset, worst = production["episode"].get("program_offset") or 0.0, None
    for start, end, out in production["timeline"]:
        middle = (start + end) / 2 - 0.5
        snip = source[int(middle * rate):int((middle + 1) * rate)]
        low = max(int((out + offset + middle - start - 0.5) * rate), 0)
        seg = episode[low:low + 2 * rate]
        if end - start < 1.5 or len(seg) <= len(snip) or not snip.any():
            continue
        size = 1 << (len(seg) + len(snip)).bit_length()
        full = np.fft.irfft(np.fft.rfft(seg, size) * np.conj(np.fft.rfft(snip, size)), size)
        energy = np.sqrt(np.convolve(seg ** 2, np.ones(len(snip)), "valid")) + 1e-9
        found = (low + int(np.argmax(full[:len(energy)] / energy))) / rate
        drift = abs(found - (out + offset + middle - start))
        worst = drift if worst is None else max(worst, drift)
    return worst


def after_cuts(cues, production):
    """Indices of the cues right after a cut: the first cue starting at or after each later
    timeline range's start in the episode."""
    offset = production["episode"].get("program_offset") or 0.0
    found = {next((i for i, c in enumerate(cues) if c["start"] >= out + offset - TOLERANCE), None)
             for _, _, out in production["timeline"][1:]}
    return sorted(found - {None})


def bounds(cue_lists, duration):
    """(cues inside [0, duration], cues in all, all in order and not overlapping)."""
    every = [cue for cues in cue_lists for cue in cues]
    inside = sum(-TOLERANCE <= c["start"] <= c["end"] <= duration + TOLERANCE for c in every)
    return inside, len(every), all(b["start"] >= a["end"] - TOLERANCE and b["start"] >= a["start"]
                                   for cues in cue_lists for a, b in zip(cues, cues[1:]))


def chapter_check(episode, production):
    """(chapters in production.json, chapters in the file, largest start difference)."""
    from services.media.tagging import read_metadata

    planned = production.get("chapters") or []
    embedded = read_metadata(episode)["chapters"]
    gaps = [abs(a["start"] - b["start"]) for a, b in zip(planned, embedded)]
    return len(planned), len(embedded), max(gaps) if gaps else None


def cover_check(folder):
    from services.media.cover import picture_size

    width, height = picture_size(folder / "cover.jpg")
    return {"width": width, "height": height, "bytes": (folder / "cover.jpg").stat().st_size,
            "ok": width == height and 1400 <= width <= 3000}


def measure(folder, heard):
    """The figures of one produced package (everything but the seconds)."""
    from services.media.ffmpeg import probe
    from services.media.subtitles import parse_vtt

    production = json.loads((folder / "production.json").read_text())
    episode = folder / production["episode"]["file"]
    duration = probe(episode)["duration"]
    cues = parse_vtt((folder / "episode.vtt").read_text())
    podcast = [{"start": s["startTime"], "end": s["endTime"]} for s in
               json.loads((folder / "episode.transcript.json").read_text())["segments"]]
    errors = [cue_error(cue, heard) for cue in cues]
    cut_cues = after_cuts(cues, production)
    inside, total, ordered = bounds([cues, podcast], duration)
    planned, embedded, chapter_gap = chapter_check(episode, production)
    timeline = production["timeline"]
    source = json.loads((folder / "analysis.json").read_text())["duration"]
    return {"duration": duration, "cuts": max(len(timeline) - 1, 0),
            "removed": source - sum(end - start for start, end, _ in timeline),
            "cues": len(cues), "errors": [e for e in errors if e is not None],
            "loose": [e for e in (cue_error(c, heard, False) for c in cues) if e is not None],
            "cut_errors": [errors[i] for i in cut_cues if errors[i] is not None],
            "cut_cues": [(cues[i]["start"], cues[i]["text"], errors[i]) for i in cut_cues],
            "inside": inside, "bounded": total, "ordered": ordered, "planned": planned,
            "embedded": embedded, "chapter_gap": chapter_gap, "cover": cover_check(folder),
            "drift": range_drift(folder, production)}


def summary(values):
    """(median, p95) of the values, or (None, None)."""
    return (statistics.median(values), percentile(values, 0.95)) if values else (None, None)


def row_cells(row):
    median, p95 = summary(row["errors"])
    cut_median, _ = summary(row["cut_errors"])
    cover = row["cover"]
    return [row["case"], row["setting"], f"{row['duration'] / 60:.1f}",
            f"{row['cuts']} / {row['removed']:.1f}", str(row["cues"]),
            f"{100 * len(row['errors']) / max(row['cues'], 1):.0f} %", fmt(median), fmt(p95),
            fmt(summary(row["loose"])[1]),
            f"{len(row['cut_errors'])}/{len(row['cut_cues'])}", fmt(cut_median),
            fmt(max(row["cut_errors"], default=None)), fmt(row["drift"], 3),
            f"{row['planned']}/{row['embedded']}", fmt(row["chapter_gap"], 3),
            f"{100 * row['inside'] / max(row['bounded'], 1):.0f} %",
            "yes" if row["ordered"] else "NO",
            f"{cover['width']}×{cover['height']} {cover['bytes'] / 1024:.0f} KB",
            fmt(row["package_s"]), fmt(row["stage6_s"])]


CASE_COLUMNS = ("case", "setting", "episode min", "cuts / s removed", "cues", "matched",
                "median err s", "p95 err s", "p95 first word only", "after cut matched",
                "after cut median s", "after cut max s", "range drift max s",
                "chapters json/file", "chapter Δ max s", "cues inside", "ordered", "cover",
                "package s", "stage 6 s")
TOTAL_COLUMNS = ("setting", "cases", "cues", "matched", "pooled median err s",
                 "pooled p95 err s", "p95 first word only", "case median err s", "case p95 err s",
                 "after cut: n, median, p95, max s", "range drift max s", "chapter Δ max s",
                 "cues inside", "covers ok", "package s", "stage 6 s")


def table(columns, lines):
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for cells in lines:
        print("| " + " | ".join(cells) + " |")


def spread(values, digits=2):
    values = [v for v in values if v is not None]
    return f"{fmt(statistics.median(values), digits)} ({fmt(min(values), digits)}–" \
           f"{fmt(max(values), digits)})" if values else "–"


def pooled(rows, key):
    return [value for row in rows for value in row[key]]


def total_cells(name, chosen):
    """The totals of one setting: all cues pooled, and medians (min–max) across its cases."""
    errors, cut = pooled(chosen, "errors"), pooled(chosen, "cut_errors")
    cues = sum(r["cues"] for r in chosen)
    median, p95 = summary(errors)
    cut_median, cut_p95 = summary(cut)
    return [name, str(len(chosen)), str(cues), f"{100 * len(errors) / max(cues, 1):.1f} %",
            fmt(median), fmt(p95), fmt(summary(pooled(chosen, "loose"))[1]),
            spread(summary(r["errors"])[0] for r in chosen),
            spread(summary(r["errors"])[1] for r in chosen),
            f"{len(cut)}, {fmt(cut_median)}, {fmt(cut_p95)}, {fmt(max(cut, default=None))}",
            fmt(max((r["drift"] for r in chosen if r["drift"] is not None), default=None), 3),
            spread((r["chapter_gap"] for r in chosen), 3),
            f"{sum(r['inside'] for r in chosen)}/{sum(r['bounded'] for r in chosen)}",
            f"{sum(r['cover']['ok'] for r in chosen)}/{len(chosen)}",
            spread(r["package_s"] for r in chosen), spread(r["stage6_s"] for r in chosen)]


def goals(rows, settings):
    print()
    for name in settings:
        chosen = [r for r in rows if r["setting"] == name]
        median, p95 = summary(pooled(chosen, "errors"))
        checks = [(f"median cue error ≤ {GOALS['median']} s: {fmt(median)}",
                   median is not None and median <= GOALS["median"]),
                  (f"p95 ≤ {GOALS['p95']} s: {fmt(p95)} (first word only "
                   f"{fmt(summary(pooled(chosen, 'loose'))[1])})",
                   p95 is not None and p95 <= GOALS["p95"]),
                  (f"chapters in the file within {GOALS['chapters']} s in every case",
                   all(r["planned"] == r["embedded"] and (r["chapter_gap"] or 0) <= GOALS["chapters"]
                       for r in chosen)),
                  ("100 % of cues inside the episode, in order",
                   all(r["inside"] == r["bounded"] and r["ordered"] for r in chosen)),
                  ("covers square 1400–3000 px", all(r["cover"]["ok"] for r in chosen))]
        print(f"Goals ({name}): " + "; ".join(f"{text} → {'met' if ok else 'NOT MET'}"
                                             for text, ok in checks))


def details(rows):
    """Each case's cues right after a cut: episode time, error, first words."""
    for row in rows:
        print(f"\n{row['case']} ({row['setting']}): {len(row['cut_cues'])} cue(s) after a cut")
        for start, text, error in row["cut_cues"]:
            print(f"  {start:8.3f} s  {'unmatched' if error is None else f'{error:.2f} s':>9}  "
                  f"{text[:60]}")


def one_case(case, configs, args, work):
    """Rows of one case, one per setting."""
    settings = next(iter(configs.values()))
    folder, prepared = prepare(case, settings, work)
    rows = []
    try:
        for name, config in configs.items():
            stage6, package = run_stage6(folder, config, args.runs)
            cache = CACHE / f"{case.name}-{name}"
            episode = json.loads((folder / "production.json").read_text())["episode"]["file"]
            heard, spent = heard_words(folder / episode, config, cache)
            rows.append({"case": case.name, "setting": name, "stage6_s": stage6,
                         "package_s": package, **measure(folder, heard)})
            heard_note = f"transcribed in {spent:.1f} s" if spent else "transcript cached"
            print(f"{case.name} {name}: stages 3–5 {prepared:.1f} s, stage 6 {stage6:.1f} s, "
                  f"episode {heard_note}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK)} short cases")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these cases")
    parser.add_argument("--runs", type=int, default=1, help="stage 6 N times per setting (seconds)")
    parser.add_argument("--details", action="store_true", help="list the cues after each cut")
    parser.add_argument("--aggressive", nargs=2, type=float, metavar=("MAX", "KEEP"),
                        default=AGGRESSIVE, help="the second setting's pause seconds")
    args = parser.parse_args()
    logging.getLogger("pipeline").setLevel(logging.ERROR)
    logging.getLogger("ffmpeg").setLevel(logging.ERROR)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    started = time.monotonic()
    audio = [s["name"] for s in episodes.every_spec() if s["kind"] == "audio"]
    names = list(args.only or (QUICK if args.quick else audio))
    present = make_eval_set.generate(names)
    cases = [present[n] for n in names if n in present and (present[n] / "audio.m4a").is_file()]
    if not cases:
        print("no audio cases in the evaluation set")
        return
    work = make_eval_set.OUT / "_runs"
    work.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="episode-package-", dir=work))
    base, (cut, keep) = load_settings(overrides={"data_dir": str(data)}), args.aggressive
    pauses = {k: base["production"][k] for k in ("max_pause_seconds", "pause_keep_seconds")}
    harder = {"data_dir": str(data),
              "production": {"max_pause_seconds": cut, "pause_keep_seconds": keep}}
    configs = {"configured {max_pause_seconds:g}/{pause_keep_seconds:g}".format(**pauses): base,
               f"aggressive {cut:g}/{keep:g}": load_settings(overrides=harder)}
    rows = []
    try:
        for case in cases:
            rows.extend(one_case(case, configs, args, work))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"\n{len(cases)} cases × {len(configs)} settings in {time.monotonic() - started:.0f} s "
          "(settings: max_pause_seconds/pause_keep_seconds)\n")
    table(CASE_COLUMNS, [row_cells(row) for row in rows])
    print("\nTotals per setting: pooled over every cue, then median (min–max) across cases\n")
    table(TOTAL_COLUMNS, [total_cells(name, [r for r in rows if r["setting"] == name])
                          for name in configs])
    goals(rows, configs)
    if args.details:
        details(rows)


if __name__ == "__main__":
    main()
