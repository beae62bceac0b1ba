"""Doctor checks for media and speech: ffmpeg, faster-whisper and the speech model."""
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from services.doctor.base import FAIL, OK, SETUP_FIX, WARN, Check, installed_version, run_command
from services.formatting import human_bytes

FFMPEG_FILTERS = ("loudnorm", "ebur128", "sidechaincompress", "afade", "acrossfade", "silencedetect")
MODEL_TIMEOUT = 300


def check_ffmpeg(_):
    """ffmpeg runs and has the filters the audio stages use."""
    from services.media.ffmpeg import ffmpeg_path

    try:
        path = ffmpeg_path()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError when it has no binary
        return Check("ffmpeg", FAIL, f"not found: {exc}",
                     "Install ffmpeg (`apt-get install ffmpeg`) or run `make setup` for imageio-ffmpeg.")
    source = "system" if shutil.which("ffmpeg") == path else "imageio-ffmpeg"
    try:
        code, out, _ = run_command([path, "-hide_banner", "-version"])
        _, filters, _ = run_command([path, "-hide_banner", "-filters"])
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("ffmpeg", FAIL, f"{path} does not run: {exc}", "Reinstall ffmpeg.")
    first = out.splitlines()[0] if out else "unknown version"
    version = first.replace("ffmpeg version ", "").split(" Copyright")[0]
    missing = [f for f in FFMPEG_FILTERS if not re.search(rf"\s{f}\s", filters)]
    if code != 0:
        return Check("ffmpeg", FAIL, f"{path} -version failed", "Reinstall ffmpeg.")
    if missing:
        return Check("ffmpeg", WARN, f"ffmpeg {version} ({source}) lacks filters: "
                     f"{', '.join(missing)}", "Install a full ffmpeg build (`apt-get install ffmpeg`).")
    return Check("ffmpeg", OK, f"ffmpeg {version} ({source}, {path})")


def check_speech_libraries(settings):
    """faster-whisper and CTranslate2 are installed and suit whisper.device/compute_type."""
    whisper = settings.get("whisper") or {}
    versions = {name: installed_version(name) for name in ("faster-whisper", "ctranslate2", "av")}
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        return Check("faster-whisper", FAIL, f"missing: {', '.join(missing)}", SETUP_FIX)
    detail = ", ".join(f"{name} {version}" for name, version in versions.items())
    device = whisper.get("device") or "cpu"
    compute = whisper.get("compute_type") or "default"
    try:
        import ctranslate2

        if device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
            return Check("faster-whisper", FAIL, f"{detail}; whisper.device is cuda but no CUDA "
                         "device is visible", "Set whisper.device to cpu, or install the GPU driver.")
        supported = ctranslate2.get_supported_compute_types("cuda" if device == "cuda" else "cpu")
    except (ImportError, RuntimeError, ValueError) as exc:
        return Check("faster-whisper", FAIL, f"{detail}; CTranslate2 does not work: {exc}", SETUP_FIX)
    if compute not in ("default", "auto") and compute not in supported:
        return Check("faster-whisper", FAIL, f"{detail}; compute type {compute} is not supported "
                     f"on {device} (supported: {', '.join(sorted(supported))})",
                     "Set whisper.compute_type to one of those.")
    return Check("faster-whisper", OK, f"{detail}; {device}, {compute}")


def check_model(settings, load=True):
    """The speech model folder is complete and, with load=True, loads."""
    from services.engine.context import StageError
    from services.speech_models import models_folder
    from services.stages.transcription import model_directory

    whisper = settings.get("whisper") or {}
    name = whisper.get("model") or "bundled"
    try:
        folder = model_directory(name, models_folder(settings))
    except StageError as exc:
        return Check("Speech model", FAIL, str(exc), "Set whisper.model to bundled or to a "
                     "CTranslate2 model folder (nothing is downloaded at run time).")
    files = [f for f in ("model.bin", "config.json") if not (Path(folder) / f).is_file()]
    if files:
        return Check("Speech model", FAIL, f"{folder} lacks {', '.join(files)}",
                     "Point whisper.model at a complete CTranslate2 model folder.")
    size = sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file())
    detail = f"{name} at {folder} ({human_bytes(size)})"
    if not load:
        return Check("Speech model", OK, f"{detail}; found")
    try:
        seconds = load_model(folder, whisper)
    except Exception as exc:  # the finding is that it did not load
        return Check("Speech model", FAIL, f"{detail}; does not load: {exc}",
                     "Check the folder is a CTranslate2 Whisper model and whisper.device/"
                     "compute_type suit this machine.")
    return Check("Speech model", OK, f"{detail}; loads in {seconds:.1f} s")


def load_model(folder, whisper, timeout=MODEL_TIMEOUT):
    """Load the model in a child process (its memory goes back when it exits); seconds taken."""
    from services.engine.cancel import CancelToken
    from services.workers import run_worker

    token = CancelToken()
    timer = threading.Timer(timeout, token.cancel)
    timer.start()
    started = time.monotonic()
    try:
        for message in run_worker("transcribe", [
                "--load-only", "--model", folder, "--device", whisper.get("device") or "cpu",
                "--compute-type", whisper.get("compute_type") or "default",
                "--cpu-threads", int(whisper.get("cpu_threads") or 0)], token, "faster_whisper"):
            if message.get("event") == "loaded":
                return time.monotonic() - started
    finally:
        timer.cancel()
    raise RuntimeError("the model loader ended without loading it")

