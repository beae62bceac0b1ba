"""Reading a playlist, channel or feed for a batch, in a child process with limits.

A feed URL is read while the request that submitted it waits, so a hostile feed must not be
able to hold the web process: the reading runs in services/workers/expand.py with its memory
capped (EXPAND_MEMORY), the bytes it may read capped after decompression (EXPAND_BYTES) and
an overall time (EXPAND_SECONDS), after which it is killed. At most MAX_EXPANSIONS run at once
in a web process; another request is answered 429 at once.
"""
import json
import threading
from contextlib import closing
from urllib.parse import urlsplit

from services.addresses import RefusedAddress, resolve_checked
from services.batches import Entry, ranges_text
from services.download.playlist import Playlist, PlaylistError
from services.engine.cancel import Cancelled, Deadline
from services.workers import WorkerError, run_worker
from services.workers.expand import EXPAND_SETTINGS_ENV

EXPAND_SECONDS = 25
EXPAND_MEMORY = 1 << 30
EXPAND_BYTES = 32 << 20
MAX_EXPANSIONS = 2
_slots = threading.BoundedSemaphore(MAX_EXPANSIONS)


def _worker_env(settings):
    block_private = bool(settings["limits"].get("block_private_networks"))
    return {EXPAND_SETTINGS_ENV: json.dumps({
        "download": settings["download"], "data_dir": settings["data_dir"],
        "block_private": block_private, "memory_bytes": EXPAND_MEMORY,
        "max_bytes": EXPAND_BYTES})}


def _read(url, settings, positions, limit):
    args = ["--url", url, "--limit", limit]
    if positions:
        args += ["--positions", ranges_text(positions)]
    deadline = Deadline(EXPAND_SECONDS)
    try:
        with closing(run_worker("expand", args, deadline, env=_worker_env(settings))) as messages:
            for message in messages:
                if message.get("event") == "playlist":
                    return message
    except Cancelled:
        raise PlaylistError(f"Reading the playlist took longer than {EXPAND_SECONDS} s; try "
                            "again later or give the videos' URLs.", "playlist_timeout") from None
    except WorkerError as exc:
        raise PlaylistError(str(exc), exc.code or "playlist_unreadable") from None
    raise PlaylistError("The playlist could not be read.", "playlist_unreadable")


def expand(url, settings, positions=None, limit=50):
    """The entries of a playlist, channel or feed URL (see read_playlist), read in the
    expansion worker; PlaylistError when it cannot be read or two are being read already."""
    try:
        resolve_checked(urlsplit(url).hostname or "", None,
                        bool(settings["limits"].get("block_private_networks")))
    except RefusedAddress as exc:
        raise PlaylistError(exc.message, exc.code) from None
    if not _slots.acquire(blocking=False):
        raise PlaylistError(f"{MAX_EXPANSIONS} playlists are being read already; try again in "
                            "a moment.", "busy", 429)
    try:
        found = _read(url, settings, positions, limit)
    finally:
        _slots.release()
    entries = [Entry(item["url"], item.get("title"), item.get("duration"))
               for item in found.get("entries") or []]
    return Playlist(title=found.get("title"), entries=entries,
                    is_playlist=bool(found.get("is_playlist")))
