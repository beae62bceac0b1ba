"""One evaluation case: its transcript (cached), stages 3, 4 and 5 run in this process on a
temporary episode folder, and the measures of what they wrote.

Audio episodes are transcribed with the configured faster-whisper settings, word timestamps
on; the transcript is kept next to the audio under a name made of the audio's hash and the
decoding settings, so a rerun only repeats stages 3-5.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

from harness import Quiet

from eval_set import metrics

DECODING_KEYS = ("model", "compute_type", "beam_size", "language", "condition_on_previous_text",
                 "vad_filter", "temperature_fallback")


def cache_key(audio, whisper):
    digest = hashlib.sha256(Path(audio).read_bytes()).hexdigest()[:16]
    decoding = {key: whisper.get(key) for key in DECODING_KEYS}
    decoding["faster_whisper"] = _faster_whisper_version()
    settings = hashlib.sha256(json.dumps(decoding, sort_keys=True).encode()).hexdigest()[:10]
    return f"{digest}-{settings}"


def _faster_whisper_version():
    from importlib.metadata import version

    return version("faster-whisper")


_MODELS = {}


def _model(whisper):
    from faster_whisper import WhisperModel

    from services.stages.transcription import model_directory

    key = (whisper["model"], whisper["compute_type"])
    if key not in _MODELS:
        _MODELS[key] = WhisperModel(model_directory(whisper["model"]), device="cpu",
                                    compute_type=whisper["compute_type"],
                                    cpu_threads=int(whisper.get("cpu_threads") or 0))
    return _MODELS[key]


def transcribe(audio, settings, cache_dir=None):
    """The transcript.json of `audio`, cached in `cache_dir` (default: the audio's folder);
    (transcript, seconds spent, 0 when it came from the cache)."""
    from services.workers.transcribe import FALLBACK_TEMPERATURES

    whisper = settings["whisper"]
    folder = Path(cache_dir or Path(audio).parent)
    folder.mkdir(parents=True, exist_ok=True)
    cached = folder / f"transcript-{cache_key(audio, whisper)}.json"
    if cached.is_file():
        return json.loads(cached.read_text()), 0.0
    started = time.perf_counter()
    temperatures = FALLBACK_TEMPERATURES if whisper.get("temperature_fallback", True) else 0.0
    segments, info = _model(whisper).transcribe(
        str(audio), beam_size=int(whisper["beam_size"]), language=whisper.get("language") or "en",
        word_timestamps=True, vad_filter=bool(whisper.get("vad_filter")),
        condition_on_previous_text=bool(whisper.get("condition_on_previous_text")),
        temperature=temperatures)
    items = [{"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text.strip(),
              "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word,
                         "probability": round(w.probability, 3)} for w in s.words or []]}
             for s in segments]
    transcript = {"segments": items, "duration": info.duration, "language": "en"}
    cached.write_text(json.dumps(transcript))
    return transcript, time.perf_counter() - started


def wav_16k(audio):
    """audio.wav for stage 3 (16 kHz mono 16-bit), made once next to the audio."""
    from services.media.ffmpeg import ffmpeg_path

    target = Path(audio).parent / "audio-16k.wav"
    if not target.is_file() or target.stat().st_mtime < Path(audio).stat().st_mtime:
        subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(audio),
                        "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(target)], check=True)
    return target


def silent_wav(path, seconds):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * int(seconds * 16000))


def run_stages(folder, settings):
    """Run stages 3, 4 and 5 on the episode folder; {stage number: seconds}."""
    from services.engine.cancel import CancelToken
    from services.engine.context import StageContext
    from services.stages import get_stage

    times = {}
    for number in (3, 4, 5):
        ctx = StageContext("bench", "http://bench", folder, settings, CancelToken(), Quiet())
        started = time.perf_counter()
        get_stage(number).run(ctx)
        times[number] = time.perf_counter() - started
    return times


def episode_folder(case, transcript, duration, work):
    """A temporary episode folder with transcript.json, metadata.json and (for audio) audio.wav."""
    folder = Path(tempfile.mkdtemp(prefix=case.name + "-", dir=work))
    (folder / "transcript.json").write_text(json.dumps(transcript))
    (folder / "metadata.json").write_text(json.dumps({"title": case.name, "duration": duration}))
    audio = case / "audio.m4a"
    if audio.is_file():
        wav = wav_16k(audio)
        try:
            os.link(wav, folder / "audio.wav")
        except OSError:
            shutil.copyfile(wav, folder / "audio.wav")
    return folder


def stage_outputs(folder, settings, duration):
    """Run the stages; (times, analysis, segments, summary). A text case whose stage 3 will not
    run without audio.wav gets a silent one."""
    try:
        times = run_stages(folder, settings)
    except Exception:
        if (folder / "audio.wav").exists():
            raise
        silent_wav(folder / "audio.wav", duration)
        times = run_stages(folder, settings)

    def read(name):
        return json.loads((folder / name).read_text())
    return times, read("analysis.json"), read("segments.json"), read("summary.json")


def evaluate(case, settings, work):
    """Measures of one case folder (truth.json and audio.m4a or transcript.json)."""
    truth = json.loads((case / "truth.json").read_text())
    if (case / "audio.m4a").is_file():
        transcript, transcribe_seconds = transcribe(case / "audio.m4a", settings)
    else:
        transcript, transcribe_seconds = json.loads((case / "transcript.json").read_text()), 0.0
    folder = episode_folder(case, transcript, truth["duration"], work)
    try:
        times, analysis, segments, summary = stage_outputs(folder, settings, truth["duration"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    starts = [float(c["start"]) for c in analysis.get("chapters") or []]
    chapters = summary.get("chapters") or analysis.get("chapters") or []
    result = metrics.score(truth, starts, chapters, segments.get("segments") or [])
    result.update(name=case.name, shape=truth["shape"], duration=truth["duration"],
                  kind=truth["kind"], stage_times=times, stage_seconds=sum(times.values()),
                  transcribe_seconds=transcribe_seconds, chapter_starts=starts)
    return result
