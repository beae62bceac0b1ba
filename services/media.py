"""ffmpeg and PyAV helpers: find ffmpeg, run it with time progress and cancel, probe files."""
import logging
import os
import shutil
import signal
import subprocess
from collections import deque
from functools import lru_cache

import av

from services.cancel import Cancelled
from services.run_logs import start_thread

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


def stop_process_group(proc):
    """End a child started with `start_new_session=True` together with its own children."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_ffmpeg(args, cancel, duration=None, on_progress=None):
    """Run ffmpeg with `args`, reporting output seconds to `on_progress(seconds)`.

    The child runs in its own process group so a cancel ends it and anything it started.
    """
    command = [ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-y",
               "-progress", "pipe:1", *args]
    log.info("ffmpeg %s", " ".join(args))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    stderr_tail = deque(maxlen=20)

    def read_progress():
        for raw in proc.stdout:
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            if key == "out_time_us" and on_progress and value.lstrip("-").isdigit():
                seconds = max(int(value), 0) / 1_000_000
                try:
                    on_progress(min(seconds, duration) if duration else seconds)
                except Cancelled:
                    pass  # the wait loop below notices the cancel and ends the process

    def read_stderr():
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                stderr_tail.append(line)
                log.info("%s", line)

    readers = [start_thread(read_progress, name="ffmpeg-progress"),
               start_thread(read_stderr, name="ffmpeg-stderr")]
    try:
        while True:
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if cancel.cancelled:
                    stop_process_group(proc)
                    raise Cancelled()
    finally:
        stop_process_group(proc)
        for reader in readers:
            reader.join(timeout=2)
    if proc.returncode != 0:
        detail = stderr_tail[-1] if stderr_tail else f"exit code {proc.returncode}"
        raise MediaError(f"ffmpeg failed: {detail}")


def probe(path):
    """Duration (s) and stream kinds of a media file, read with PyAV."""
    try:
        with av.open(str(path)) as container:
            streams = [stream.type for stream in container.streams]
            duration = container.duration / av.time_base if container.duration else None
            if duration is None:
                for stream in container.streams:
                    if stream.duration and stream.time_base:
                        duration = max(duration or 0, float(stream.duration * stream.time_base))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read {os.path.basename(str(path))}: {exc}") from exc
    return {"duration": duration, "streams": streams}
