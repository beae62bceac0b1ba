"""One server per data folder: an exclusive lock on `<data_dir>/server.lock`.

The server takes it before it touches the database and holds it while it lives; the operating
system releases it when the process ends, however it ends. The file names the holder (pid,
command, start time) so that a second server can say which process has the folder.

`run.py` (serving) takes it, then recovers runs; `create_app` takes none (apps built in-process,
as the tests build them, recover nothing), nor does the headless `run.py process`.
"""
import fcntl
import json
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = "server.lock"


class FolderBusy(Exception):
    """Another live process holds the data folder's lock."""

    def __init__(self, path, holder):
        self.path = Path(path)
        self.holder = holder
        pid = holder.get("pid", "unknown")
        command = " ".join(str(holder.get("command") or "an unknown command").split())
        super().__init__(f"the data folder {self.path.parent} is in use by another server "
                         f"(pid {pid}: {command}); stop it first, or give this one another "
                         "--data-dir")


def _holder(text):
    """What the lock file says about its holder ({} when it cannot be read)."""
    try:
        holder = json.loads(text)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def hold(data_dir):
    """Take the data folder's lock for this process and write who holds it.

    Returns the open lock file: keep a reference for as long as the lock is needed (closing
    it, or the end of the process, releases it). Raises FolderBusy when another process has it.
    """
    path = Path(data_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")   # opened without truncating the holder's note
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        text = handle.read(4096)
        handle.close()
        raise FolderBusy(path, _holder(text)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({
        "pid": os.getpid(),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }) + "\n")
    handle.flush()
    return handle
