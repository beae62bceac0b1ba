"""Child processes that a cancel can end at once: each in its own process group, read line by line."""
import logging
import os
import queue
import signal
import subprocess
import sys
from collections import deque

from services.engine.cancel import Cancelled
from services.engine.run_logs import start_thread

POLL_SECONDS = 0.05
# Children (downloads, ffmpeg, transcription) yield the CPU to the dashboard's own threads, so
# progress and log events reach the browser at once while the work keeps every core busy;
# alone on the machine they run as fast as at the normal priority.
CHILD_NICENESS = 5


def _child_setup():
    """In the child: a lower CPU priority, and be killed when the thread that started it dies
    (Linux), e.g. on kill -9."""
    try:
        os.nice(CHILD_NICENESS)
    except OSError:
        pass
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ProcessFailed(Exception):
    """A child process exited with an error; `tail` holds its last stderr lines."""

    def __init__(self, returncode, tail):
        super().__init__(tail[-1] if tail else f"exit code {returncode}")
        self.returncode = returncode
        self.tail = list(tail)


def stop_process_group(proc):
    """End a child started with `start_new_session=True` together with its own children."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def process_lines(command, cancel, on_stderr=None, env=None):
    """Yield the child's stdout lines; kill its process group on cancel or when abandoned.

    stderr lines go to `on_stderr(line)` (from a reader thread bound to the same run).
    Raises Cancelled when the token is set, ProcessFailed on a non-zero exit.
    """
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                            preexec_fn=_child_setup if sys.platform == "linux" else None)
    lines = queue.Queue()
    tail = deque(maxlen=20)

    def read_stdout():
        for raw in proc.stdout:
            lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        lines.put(None)

    def read_stderr():
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                tail.append(line)
                if on_stderr:
                    on_stderr(line)

    readers = [start_thread(read_stdout, name="child-stdout"),
               start_thread(read_stderr, name="child-stderr")]
    try:
        while True:
            if cancel.cancelled:
                raise Cancelled()
            try:
                line = lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if line is None:
                break
            yield line
        while proc.poll() is None:
            if cancel.wait(POLL_SECONDS):
                raise Cancelled()
    finally:
        stop_process_group(proc)
        for reader in readers:
            reader.join(timeout=2)
    if proc.returncode != 0:
        raise ProcessFailed(proc.returncode, tail)


def log_child_line(default_logger):
    """An `on_stderr` that re-logs a child's 'LEVEL<TAB>logger<TAB>message' lines (others as-is)."""
    fallback = logging.getLogger(default_logger)

    def handle(line):
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            logging.getLogger(parts[1]).log(logging.getLevelName(parts[0]), "%s", parts[2])
        else:
            fallback.info("%s", line)

    return handle
