"""Stage 6's wall time against one plain ffmpeg decode-and-encode pass over the same audio.

A 31-minute episode (the three-topic fixture repeated 15 times, as FLAC like stage 1 makes it)
goes through stages 3–5 once (their real code, in this process), then stage 6 runs three times
in full mode (clips, leveller, pauses, two-pass loudness, AAC); the baseline is
`ffmpeg -i audio_hq.flac -ar 48000 -c:a aac -b:a 128k`, also three times. Prints the medians and
the ratio (goal: at most 3x).
"""
import json
import shutil
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

FIXTURES = ROOT / "tests" / "fixtures"
REPEATS = 15
RUNS = 3


def transcript_of(settings):
    """The fixture's transcript, repeated REPEATS times."""
    from faster_whisper import WhisperModel

    from services.stages.transcription import model_directory

    model = WhisperModel(model_directory("bundled"), device="cpu", compute_type="int8", cpu_threads=2)
    segments, info = model.transcribe(str(FIXTURES / "topics.m4a"), beam_size=5, word_timestamps=True,
                                      condition_on_previous_text=True)
    once = [{"start": s.start, "end": s.end, "text": s.text,
             "words": [{"start": w.start, "end": w.end, "word": w.word} for w in s.words]}
            for s in segments]
    length, items = info.duration, []
    for copy in range(REPEATS):
        for item in once:
            items.append(dict(item, start=item["start"] + copy * length, end=item["end"] + copy * length,
                              words=[dict(w, start=w["start"] + copy * length, end=w["end"] + copy * length)
                                     for w in item["words"]]))
    return {"segments": items, "duration": length * REPEATS, "language": "en"}


def main():
    import logging

    logging.getLogger("pipeline").setLevel(logging.WARNING)
    logging.getLogger("ffmpeg").setLevel(logging.WARNING)
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="production-bench-") as tmp:
        folder = Path(tmp) / "episode"
        folder.mkdir()
        for name, args in (("audio_hq.flac", ["-c:a", "flac"]),
                           ("audio.wav", ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"])):
            subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
                            str(REPEATS - 1), "-i", str(FIXTURES / "topics.m4a"), *args,
                            str(folder / name)], check=True)
        transcript = transcript_of(settings)
        (folder / "transcript.json").write_text(json.dumps(transcript))
        (folder / "metadata.json").write_text(json.dumps({"title": "bench", "duration": transcript["duration"]}))
        for number in (3, 4, 5):
            get_stage(number).run(StageContext("bench", "http://bench", folder, settings,
                                               CancelToken(), Quiet()))
        stage, plain = [], []
        for _ in range(RUNS):
            started = time.perf_counter()
            subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-i",
                            str(folder / "audio_hq.flac"), "-ar", "48000", "-c:a", "aac", "-b:a",
                            "128k", str(Path(tmp) / "plain.m4a")], check=True)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            get_stage(6).run(StageContext("bench", "http://bench", folder, settings,
                                          CancelToken(), Quiet()))
            stage.append(time.perf_counter() - started)
            shutil.rmtree(folder / "clips", ignore_errors=True)
        production = json.loads((folder / "production.json").read_text())
    minutes = transcript["duration"] / 60
    print(f"{minutes:.0f}-minute episode, {len(production['clips'])} clips, loudness by "
          f"{production['loudness']['method']}")
    print("| what | median seconds | min–max | × real time |")
    print("|---|---|---|---|")
    ratios = [a / b for a, b in zip(stage, plain)]
    for label, values in (("plain decode + AAC encode", plain), ("stage 6, Audio Production", stage)):
        value = statistics.median(values)
        print(f"| {label} | {value:.2f} | {min(values):.2f}–{max(values):.2f} | "
              f"{transcript['duration'] / value:.0f} |")
    print(f"| ratio (per run) | {statistics.median(ratios):.2f}× | "
          f"{min(ratios):.2f}–{max(ratios):.2f}× | |")


if __name__ == "__main__":
    main()
