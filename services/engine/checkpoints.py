"""Which stages of an episode folder are done, with which parameters, so later runs reuse them."""
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

CHECKPOINT_FILE = "checkpoints.json"


_FOLDER_LOCKS = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


@contextmanager
def _folder_lock(folder):
    """Exclusive access to one folder's checkpoint record: across threads, and across
    processes (a headless run beside the server) through flock on the folder."""
    key = str(Path(folder).resolve())
    with _FOLDER_LOCKS_GUARD:
        lock = _FOLDER_LOCKS.setdefault(key, threading.Lock())
    with lock:
        handle = os.open(folder, os.O_RDONLY)   # the folder itself: no lock file is left behind
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)   # closing releases the flock


class Checkpoints:
    """The `checkpoints.json` record of an episode folder; changes are atomic and serialised."""

    def __init__(self, episode_dir):
        self.path = Path(episode_dir) / CHECKPOINT_FILE

    def _load(self):
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data):
        """Write through a unique temporary file renamed over the record (atomic)."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(data, indent=2, sort_keys=True))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def reusable(self, stage_key, parameters):
        """The outputs recorded for `stage_key` when its parameters match and all files exist."""
        entry = self._load().get(stage_key)
        if not isinstance(entry, dict) or entry.get("parameters") != parameters:
            return None
        outputs = entry.get("outputs") or []
        if not all((self.path.parent / name).is_file() for name in outputs):
            return None
        return outputs

    def record(self, stage_key, parameters, outputs):
        """Mark `stage_key` done with these parameters and output files."""
        with _folder_lock(self.path.parent):
            data = self._load()
            data[stage_key] = {
                "parameters": parameters,
                "outputs": sorted(outputs),
                "completed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            self._save(data)

    def forget(self, stage_key):
        """Drop the record of `stage_key` before it is redone."""
        with _folder_lock(self.path.parent):
            data = self._load()
            if data.pop(stage_key, None) is not None:
                self._save(data)


CONTENT_HASH_LIMIT = 1024 * 1024  # larger inputs (audio) count by size and time, not content


def input_fingerprint(folder, *names):
    """A short hash of the named input files (missing files count as empty): the contents of
    small ones (JSON, subtitles), the size and modification time of large ones (audio), which
    tell as much without reading them. A name may be absolute (an asset outside the folder).

    In a stage's parameters it makes the checkpoint follow its inputs: when an earlier stage is
    redone differently, the later stage is redone too.
    """
    digest = hashlib.sha256()
    for name in names:
        digest.update(str(name).encode() + b"\0")
        path = Path(folder) / name
        try:
            stat = path.stat()
            if stat.st_size > CONTENT_HASH_LIMIT:
                digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            else:
                digest.update(path.read_bytes())
        except OSError:
            pass
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def list_files(folder):
    """Every file under `folder`, as paths relative to it."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def remove_new_files(folder, before):
    """Delete files that appeared in `folder` since `before` (a stopped stage's partial files)."""
    folder = Path(folder)
    for name in sorted(list_files(folder) - before, reverse=True):
        try:
            (folder / name).unlink()
        except OSError:
            pass
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def list_outputs(folder):
    """The files of an episode folder a person would want (name, size), working files left out."""
    folder = Path(folder)
    outputs = []
    for name in sorted(list_files(folder)):
        if name.startswith(".") or "/." in name:
            continue
        try:
            outputs.append({"name": name, "size": (folder / name).stat().st_size})
        except OSError:  # removed since it was listed
            continue
    return outputs
