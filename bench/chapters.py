"""Chapter quality over the evaluation set, and the speed of stages 3-5.

1. Quality: every case of the evaluation set (bench/make_eval_set.py; cases missing are made
   first) runs through stages 3, 4 and 5 (their real code, in this process, with the settings
   of config.yaml). Audio episodes are transcribed first with the configured decoding settings
   (cached next to the audio); text-only cases bring their transcript. One row per case:
   boundary recall and precision within 5 s, Pk and WindowDiff, titles naming their topic,
   highlights inside one topic, and the seconds of stages 3-5; then the totals and the goals.
   `--runs N` repeats the evaluation and gives the spread of the totals.
2. Speed: a 60-minute episode made of the three-topic fixture's transcript and audio repeated
   30 times runs through stages 3, 4 and 5; the table gives each stage's seconds, median of 3.

    .venv/bin/python bench/chapters.py [--runs N] [--quick] [--only NAME ...] [--details]
"""
import argparse
import json
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import make_eval_set  # sets up the import path of the benchmarks and the project
from eval_set import episodes, evaluate, metrics  # noqa: E402
from make_eval_set import FIXTURES

from services.config.loading import load_settings  # noqa: E402

REPEATS = 30
GOALS = {"recall": 0.9, "precision": 0.9, "titles": 0.8, "highlights": 1.0,
         "seconds_per_hour": 7.0}


def fmt(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def row_cells(row):
    return [row["name"], row["shape"], f"{row['duration'] / 60:.1f}",
            f"{row['true']}/{row['found']}", fmt(row["recall"]), fmt(row["precision"]),
            fmt(row["pk"]), fmt(row["windowdiff"]), f"{row['titles_ok']}/{row['titles']}",
            f"{row['highlights_ok']}/{row['highlights']}", f"{row['stage_seconds']:.2f}"]


def quality_table(rows, totals):
    print("| case | shape | min | chapters true/found | recall | precision | Pk | WindowDiff "
          "| titles ok | highlights ok | stages 3–5 s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row_cells(row)) + " |")
    print(f"| **all {len(rows)}** | | {totals['duration'] / 60:.1f} | "
          f"{totals['true']}/{totals['found']} | {fmt(totals['recall'])} | "
          f"{fmt(totals['precision'])} | {fmt(totals['pk'])} | {fmt(totals['windowdiff'])} | "
          f"{100 * totals['titles']:.0f} % | {100 * totals['highlights']:.0f} % | "
          f"{totals['seconds_per_hour']:.2f} s/h |")


def goals_line(totals):
    def mark(ok):
        return "met" if ok else "not met"
    parts = [f"recall ≥ 0.9: {fmt(totals['recall'])} {mark(totals['recall'] >= GOALS['recall'])}",
             f"precision ≥ 0.9: {fmt(totals['precision'])} "
             f"{mark(totals['precision'] >= GOALS['precision'])}",
             f"titles ≥ 80 %: {100 * totals['titles']:.0f} % {mark(totals['titles'] >= GOALS['titles'])}",
             f"highlights 100 %: {100 * totals['highlights']:.0f} % "
             f"{mark(totals['highlights'] >= GOALS['highlights'])}",
             f"stages 3–5 ≤ ~7 s per hour: {totals['seconds_per_hour']:.2f} s "
             f"{mark(totals['seconds_per_hour'] <= GOALS['seconds_per_hour'] * 1.05)}"]
    print("\nGoals: " + "; ".join(parts))


def details(rows):
    """Each case's chapter starts against the true changes, and its titles."""
    for row in rows:
        print(f"\n{row['name']}: true changes {row['true_changes_at']}, "
              f"found {[round(s, 1) for s in row['chapter_starts'][1:]]}")
        for title, topic, named in row["title_list"]:
            print(f"  {'ok ' if named else 'no '} {topic:18} {title}")


def transcribe_all(cases, settings):
    """Transcribe the audio episodes not yet in the cache; prints the time it took."""
    audio = [c for c in cases if (c / "audio.m4a").is_file()]
    spent, minutes, fresh = 0.0, 0.0, 0
    for case in audio:
        _, seconds = evaluate.transcribe(case / "audio.m4a", settings)
        if seconds:
            fresh += 1
            spent += seconds
            minutes += json.loads((case / "truth.json").read_text())["duration"] / 60
            print(f"transcribed {case.name} in {seconds:.1f} s", flush=True)
    if fresh:
        print(f"transcription: {fresh} episodes, {minutes:.1f} min of audio in {spent:.0f} s "
              f"({minutes * 60 / spent:.1f}× real time)")
    print(f"transcripts of {len(audio) - fresh} audio episodes came from the cache")


def one_pass(cases, settings, work):
    rows = []
    for case in cases:
        row = evaluate.evaluate(case, settings, work)
        row["true_changes_at"] = json.loads((case / "truth.json").read_text())["topic_changes"]
        rows.append(row)
    return rows


def speed_lines(rows):
    """Seconds of stages 3-5 per hour, audio episodes (VAD included) and text cases apart."""
    for kind, label in (("audio", "audio episodes (stage 3 includes the VAD)"),
                        ("text", "text-only cases (no audio)")):
        chosen = [r for r in rows if r["kind"] == kind]
        if chosen:
            hours = sum(r["duration"] for r in chosen) / 3600
            each = {n: sum(r["stage_times"][n] for r in chosen) / hours for n in (3, 4, 5)}
            print(f"stages 3–5 per hour of {label}: {sum(each.values()):.2f} s "
                  f"(3: {each[3]:.2f}, 4: {each[4]:.2f}, 5: {each[5]:.2f})")


def spread(all_totals):
    print(f"\nSpread of the totals over {len(all_totals)} runs (median, min–max):\n")
    print("| figure | median | min–max |")
    print("|---|---|---|")
    for key in ("recall", "precision", "pk", "windowdiff", "titles", "highlights",
                "seconds_per_hour"):
        values = [t[key] for t in all_totals]
        print(f"| {key} | {statistics.median(values):.3f} | {min(values):.3f}–{max(values):.3f} |")


def quality(args, settings):
    names = list(args.only or (episodes.QUICK if args.quick else []))
    present = make_eval_set.generate(names or None)
    cases = [present[s["name"]] for s in episodes.every_spec() if s["name"] in present]
    if not cases:
        print("no evaluation cases")
        return
    transcribe_all(cases, settings)
    work = make_eval_set.OUT / "_runs"
    work.mkdir(parents=True, exist_ok=True)
    smallest = min(cases, key=lambda c: json.loads((c / "truth.json").read_text())["duration"])
    evaluate.evaluate(smallest, settings, work)   # imports and vectors loaded once, untimed
    all_totals = []
    for run in range(args.runs):
        started = time.monotonic()
        rows = one_pass(cases, settings, work)
        totals = metrics.pooled(rows)
        all_totals.append(totals)
        print(f"\nevaluation pass {run + 1} of {args.runs}: {time.monotonic() - started:.1f} s",
              flush=True)
        if run == 0:
            print()
            quality_table(rows, totals)
            goals_line(totals)
            speed_lines(rows)
            if args.details:
                details(rows)
    if args.runs > 1:
        spread(all_totals)


def long_episode(transcript, folder):
    """A 60-minute episode folder: the fixture's transcript and audio repeated REPEATS times."""
    from services.media.ffmpeg import ffmpeg_path

    length = transcript["duration"]
    segments = [{"start": s["start"] + copy * length, "end": s["end"] + copy * length,
                 "text": s["text"],
                 "words": [{"start": w["start"] + copy * length, "end": w["end"] + copy * length,
                            "word": w["word"]} for w in s["words"]]}
                for copy in range(REPEATS) for s in transcript["segments"]]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.json").write_text(json.dumps(
        {"segments": segments, "duration": length * REPEATS, "language": "en"}))
    (folder / "metadata.json").write_text(json.dumps({"title": "Long bench",
                                                      "duration": length * REPEATS}))
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
                    str(REPEATS - 1), "-i", str(FIXTURES / "topics.m4a"), "-ac", "1", "-ar",
                    "16000", "-c:a", "pcm_s16le", str(folder / "audio.wav")], check=True)
    return length * REPEATS


def speed_table(settings):
    from services.stages import get_stage

    transcript, _ = evaluate.transcribe(FIXTURES / "topics.m4a", settings,
                                        make_eval_set.OUT / "_speed")
    with tempfile.TemporaryDirectory(prefix="chapters-bench-") as tmp:
        folder = Path(tmp) / "episode"
        duration = long_episode(transcript, folder)
        runs = [evaluate.run_stages(folder, settings) for _ in range(3)]
        analysis = json.loads((folder / "analysis.json").read_text())
    print(f"\nSpeed: a {duration / 60:.0f}-minute episode (the three-topic fixture repeated "
          f"{REPEATS} times): {len(analysis['sentences'])} sentences, "
          f"{len(analysis['chapters'])} chapters\n")
    print("| stage | median seconds | min–max |")
    print("|---|---|---|")
    for number in (3, 4, 5):
        values = [run[number] for run in runs]
        print(f"| {number}. {get_stage(number).name} | {statistics.median(values):.2f} | "
              f"{min(values):.2f}–{max(values):.2f} |")
    together = [sum(run.values()) for run in runs]
    print(f"| 3–5 together | {statistics.median(together):.2f} | "
          f"{min(together):.2f}–{max(together):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="repeat the evaluation N times")
    parser.add_argument("--quick", action="store_true", help="a few short cases, no speed section")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these cases")
    parser.add_argument("--details", action="store_true", help="list each case's chapters")
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=None,
                        help="the 60-minute speed section (default: on unless --quick or --only)")
    args = parser.parse_args()
    # Text-only cases have no audio.wav, and stage 3 warns about it each time.
    logging.getLogger("pipeline").setLevel(logging.ERROR)
    settings = load_settings()
    quality(args, settings)
    if args.speed if args.speed is not None else not (args.quick or args.only):
        speed_table(settings)


if __name__ == "__main__":
    main()
