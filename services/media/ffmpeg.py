"""ffmpeg and PyAV helpers: find ffmpeg, run it with time progress and cancel, probe files."""
import logging
import os
import shutil
from contextlib import closing
from functools import lru_cache

import av

from services.workers.processes import ProcessFailed, process_lines

log = logging.getLogger("ffmpeg")


class MediaError(Exception):
    """A media file could not be converted or read; the message is for the user."""


@lru_cache(maxsize=1)
def ffmpeg_path():
    """The system ffmpeg, or the one shipped by imageio-ffmpeg."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args, cancel, duration=None, on_progress=None, stderr_lines=None):
    """Run ffmpeg with `args`, reporting output seconds to `on_progress(seconds)`.

    The child runs in its own process group, so a cancel ends it and anything it started.
    With `stderr_lines` (a list), ffmpeg's messages are collected there instead of logged.
    """
    command = [ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-y",
               "-progress", "pipe:1", *args]
    log.info("ffmpeg %s", " ".join(str(arg) for arg in args)[:2000])
    on_stderr = stderr_lines.append if stderr_lines is not None else (lambda text: log.info("%s", text))
    try:
        with closing(process_lines(command, cancel, on_stderr)) as lines:
            for line in lines:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and on_progress and value.lstrip("-").isdigit():
                    seconds = max(int(value), 0) / 1_000_000
                    on_progress(min(seconds, duration) if duration else seconds)
    except ProcessFailed as exc:
        raise MediaError(f"ffmpeg failed: {exc}") from exc


def probe(path):
    """Duration (s) of a media file and of its first audio stream, and its stream kinds,
    read with PyAV. A video's picture may run on after its sound ends, so the two can differ."""
    try:
        with av.open(str(path)) as container:
            streams = [stream.type for stream in container.streams]
            lengths = {stream.index: float(stream.duration * stream.time_base)
                       for stream in container.streams if stream.duration and stream.time_base}
            duration = container.duration / av.time_base if container.duration else None
            if duration is None and lengths:
                duration = max(lengths.values())
            audio = next((s for s in container.streams if s.type == "audio"), None)
            audio_duration = lengths.get(audio.index) if audio is not None else None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read {os.path.basename(str(path))}: {exc}") from exc
    return {"duration": duration, "audio_duration": audio_duration, "streams": streams}
