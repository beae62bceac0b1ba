"""Chapters and the speed of stages 3–5.

1. Boundary error: the three-topic fixture (tests/fixtures/topics.m4a) is transcribed with the
   configured decoding settings and with the noisier beam 1 without conditioning, split into sentences, and segmented by TextTiling over
   wordllama and over TF-IDF sentence vectors, with and without the boundary refinement; the
   table gives each chapter start's distance to the script's topic change (topics.json).
2. Speed: a 60-minute episode made of the fixture's transcript and audio repeated 30 times
   runs through stages 3, 4 and 5 (their real code, in this process); the table gives each
   stage's seconds, median of 3.
"""
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import Quiet  # noqa: E402

from services.config.loading import load_settings  # noqa: E402
from services.engine.cancel import CancelToken  # noqa: E402
from services.engine.context import StageContext  # noqa: E402
from services.media.ffmpeg import ffmpeg_path  # noqa: E402
from services.stages import get_stage  # noqa: E402
from services.stages.transcription import model_directory  # noqa: E402
from services.text import topics
from services.text import vectors as text_vectors  # noqa: E402
from services.text.sentences import split_sentences  # noqa: E402
from services.workers.transcribe import FALLBACK_TEMPERATURES  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
REPEATS = 30


def transcribe(settings, **override):
    from faster_whisper import WhisperModel

    whisper = {**settings["whisper"], **override}
    model = WhisperModel(model_directory(whisper["model"]), device="cpu",
                         compute_type=whisper["compute_type"], cpu_threads=2)
    temperatures = FALLBACK_TEMPERATURES if whisper.get("temperature_fallback", True) else 0.0
    segments, info = model.transcribe(
        str(FIXTURES / "topics.m4a"), beam_size=int(whisper["beam_size"]), language="en",
        word_timestamps=True, vad_filter=bool(whisper.get("vad_filter")),
        condition_on_previous_text=bool(whisper.get("condition_on_previous_text")),
        temperature=temperatures)
    items = [{"start": s.start, "end": s.end, "text": s.text,
              "words": [{"start": w.start, "end": w.end, "word": w.word} for w in s.words]}
             for s in segments]
    return {"segments": items, "duration": info.duration, "language": "en"}


def boundary_table(transcripts, truth):
    rows = []
    for label, transcript in transcripts:
        rows += boundary_rows(label, transcript, truth)
    print("| transcript | vectors | refined | chapters | mean boundary error (s) | max (s) |")
    print("|---|---|---|---|---|---|")
    for label, method, refined, count, mean, worst in rows:
        print(f"| {label} | {method} | {refined} | {count} | {mean:.2f} | {worst:.2f} |")


def boundary_rows(label, transcript, truth):
    sentences = split_sentences(transcript)
    rows = []
    for method in ("wordllama", "tfidf"):
        vectors = text_vectors.embed([s["text"] for s in sentences], method)
        for refined in (True, False):
            original = topics.refine
            if not refined:
                topics.refine = lambda vectors, starts, *args, **kwargs: starts
            try:
                starts, _ = topics.chapter_starts(vectors, sentences, transcript["duration"])
            finally:
                topics.refine = original
            found = [sentences[i]["start"] for i in starts[1:]]
            errors = [min(abs(f - t) for f in found) if found else float("inf")
                      for t in truth["topic_changes"]]
            rows.append((label, method, "yes" if refined else "no", len(starts),
                         statistics.mean(errors), max(errors)))
    return rows


def long_episode(transcript, folder):
    """A 60-minute episode folder: the transcript and audio repeated REPEATS times."""
    length = transcript["duration"]
    segments = []
    for copy in range(REPEATS):
        offset = copy * length
        for segment in transcript["segments"]:
            segments.append({"start": segment["start"] + offset, "end": segment["end"] + offset,
                             "text": segment["text"],
                             "words": [{"start": w["start"] + offset, "end": w["end"] + offset,
                                        "word": w["word"]} for w in segment["words"]]})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.json").write_text(json.dumps(
        {"segments": segments, "duration": length * REPEATS, "language": "en"}))
    (folder / "metadata.json").write_text(json.dumps({"title": "Long bench", "duration": length * REPEATS}))
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
                    str(REPEATS - 1), "-i", str(FIXTURES / "topics.m4a"), "-ac", "1", "-ar", "16000",
                    "-c:a", "pcm_s16le", str(folder / "audio.wav")], check=True)
    return length * REPEATS


def speed_table(settings, transcript):
    with tempfile.TemporaryDirectory(prefix="chapters-bench-") as tmp:
        folder = Path(tmp) / "episode"
        duration = long_episode(transcript, folder)
        times = {3: [], 4: [], 5: []}
        for _ in range(3):
            for number in (3, 4, 5):
                ctx = StageContext("bench", "http://bench", folder, settings, CancelToken(), Quiet())
                started = time.perf_counter()
                get_stage(number).run(ctx)
                times[number].append(time.perf_counter() - started)
        analysis = json.loads((folder / "analysis.json").read_text())
    print(f"\n{duration / 60:.0f}-minute episode: {len(analysis['sentences'])} sentences, "
          f"{len(analysis['chapters'])} chapters")
    print("| stage | median seconds | min–max |")
    print("|---|---|---|")
    for number in (3, 4, 5):
        values = times[number]
        print(f"| {number}. {get_stage(number).name} | {statistics.median(values):.2f} | "
              f"{min(values):.2f}–{max(values):.2f} |")
    together = [sum(times[n][i] for n in (3, 4, 5)) for i in range(len(times[3]))]
    print(f"| 3–5 together | {statistics.median(together):.2f} | "
          f"{min(together):.2f}–{max(together):.2f} |")


def main():
    import logging

    logging.getLogger("pipeline").setLevel(logging.WARNING)
    settings = load_settings()
    truth = json.loads((FIXTURES / "topics.json").read_text())
    transcript = transcribe(settings)
    noisier = transcribe(settings, beam_size=1, condition_on_previous_text=False)
    text_vectors.embed(["warm up"], "wordllama")  # load the vectors once, as a server does
    boundary_table([("configured decoding", transcript), ("beam 1, no conditioning", noisier)],
                   truth)
    speed_table(settings, transcript)


if __name__ == "__main__":
    main()
