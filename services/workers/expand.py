"""Worker: list the entries of a playlist, channel or feed (run as a child process).

The web process never reads a page someone else chose: this worker does, under limits that a
hostile feed cannot get past. Its address space is capped (RLIMIT_AS), every connection is
checked (services/download/guard.py), and reading stops past a number of bytes, counted after
decompression; the parent ends it after an overall time (services/download/expansion.py).

Messages: playlist {title, is_playlist, entries: [{url, title, duration}]}.
The settings arrive as JSON in EXPAND_SETTINGS_ENV: the `download` section, data_dir,
block_private, memory_bytes and max_bytes.
"""
import argparse
import json
import os
import resource

from services.batches import parse_ranges
from services.download import guard
from services.download.playlist import PlaylistError, read_playlist
from services.workers import WorkerError, emit, worker_main

EXPAND_SETTINGS_ENV = "PLAYLIST_WORKER_SETTINGS"


def _limit_memory(size):
    if size:
        resource.setrlimit(resource.RLIMIT_AS, (size, size))


def expand(args):
    settings = json.loads(os.environ.get(EXPAND_SETTINGS_ENV) or "{}")
    _limit_memory(settings.get("memory_bytes"))
    section = settings.get("download") or {}
    max_bytes = settings.get("max_bytes")
    guard.install(bool(settings.get("block_private")), section.get("proxy"),
                  max_document_bytes=max_bytes, max_total_bytes=max_bytes)
    positions = parse_ranges(args.positions) if args.positions else None
    try:
        found = read_playlist(args.url, settings, positions, args.limit)
    except PlaylistError as exc:
        refused = guard.refusal()
        if refused is not None:
            raise WorkerError(refused.message, refused.code) from exc
        raise WorkerError(exc.message, exc.code) from exc
    except guard.FetchRefused as exc:
        raise WorkerError(exc.message, exc.code) from exc
    except MemoryError as exc:
        raise WorkerError("The playlist is too large to read.", "too_large") from exc
    emit("playlist", title=found.title, is_playlist=found.is_playlist,
         entries=[{"url": entry.url, "title": entry.title, "duration": entry.duration}
                  for entry in found.entries])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--positions", default=None)
    with worker_main():
        expand(parser.parse_args())


if __name__ == "__main__":
    main()
