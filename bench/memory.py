"""Memory: the server's RSS, threads and open files after 10 and after 100 runs of stages 1-2 on
the short speech fixture, each run in its own episode folder (so each downloads and
transcribes), started in groups that queue behind max_concurrent_runs.

The server is a real `run.py` in a child process (psutil reads it from outside, ~2 s after the
last completion). `--arena` repeats it with MALLOC_ARENA_MAX=2 for the server. `--trace` then
runs the same in this process (the in-process harness) with tracemalloc snapshots after the
first and the last group, prints the allocations that grew most by traceback and the object
types that grew in number, and whether glibc's malloc_trim(0) gives memory back.
"""
import argparse
import ctypes
import gc
import os
import time
import tracemalloc
import uuid
from collections import Counter

import psutil
import requests
from harness import Bench, ServerProcess, print_rows

MEDIA = "speech.mp4"
GROUP = 5
MB = 1024 * 1024


def process_figures(pid):
    """(RSS bytes, threads, open files, file descriptors, open file names) of a process."""
    proc = psutil.Process(pid)
    files = [os.path.basename(f.path) for f in proc.open_files()]
    return proc.memory_info().rss, proc.num_threads(), len(files), proc.num_fds(), files


def wait_all(status, session_ids, timeout=900):
    deadline = time.monotonic() + timeout
    for session_id in session_ids:
        while True:
            state = status(session_id)["state"]
            if state in ("completed", "failed", "cancelled", "interrupted"):
                if state != "completed":
                    raise RuntimeError(f"run {session_id} ended {state}")
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {session_id} did not end")
            time.sleep(0.2)


def run_groups(start, status, count, done, on_checkpoint, checkpoints):
    """Run `count` more runs in groups of GROUP; call on_checkpoint(n) after the n-th run for
    each n in checkpoints. Returns the runs done."""
    while done < count:
        size = min(GROUP, count - done, *(n - done for n in checkpoints if n > done))
        wait_all(status, [start() for _ in range(size)])
        done += size
        if done in checkpoints:
            time.sleep(2)
            on_checkpoint(done)
    return done


def server_figures(first, last, extra_env=None):
    """{runs: (rss, threads, open files, fds)} of a run.py server after `first` and `last` runs."""
    server = ServerProcess(extra_env=extra_env)
    found = {0: process_figures(server.proc.pid)}
    try:
        run_groups(lambda: server.start(MEDIA), server.status, last, 0,
                   lambda n: found.__setitem__(n, process_figures(server.proc.pid)), (first, last))
    except requests.RequestException:
        print("The server stopped answering; its threads:\n" + server.stack_dump(), flush=True)
        raise
    finally:
        server.close()
    return found


DATABASE_FILES = ("pipeline.db", "pipeline.db-wal")
POOL_LIMIT = 15   # SQLAlchemy's QueuePool: pool_size 5 + max_overflow 10 connections


def _other_files(found):
    """(threads, open files, fds) of a reading, the database's own files left out: each pooled
    SQLite connection holds pipeline.db and its WAL, and the pool opens them as it needs them."""
    database = sum(found[4].count(name) for name in DATABASE_FILES)
    return found[1], found[2] - database, found[3] - database


def figure_rows(label, found, first, last):
    growth = (found[last][0] - found[first][0]) * 100 / (last - first)
    added = Counter(found[last][4]) - Counter(found[first][4])
    connections = [found[n][4].count("pipeline.db") for n in (first, last)]
    before, after = _other_files(found[first]), _other_files(found[last])
    return [
        ("memory", f"{label}RSS at 0 / {first} / {last} runs",
         " / ".join(f"{found[n][0] / MB:.1f}" for n in (0, first, last)) + " MB", "(reported)", "-"),
        ("memory", f"{label}RSS growth per 100 runs", f"{growth / MB:+.1f} MB", "< 10 MB",
         "yes" if growth < 10 * MB else "no"),
        ("memory", f"{label}threads, open files, fds (database files aside) at {first} → {last} runs",
         f"{', '.join(map(str, before))} → {', '.join(map(str, after))}"
         + (f" (opened since: {', '.join(sorted(added.elements()))})" if added else ""),
         "no growth", "yes" if all(a <= b for a, b in zip(after, before)) else "no"),
        ("memory", f"{label}pooled database connections at {first} → {last} runs",
         f"{connections[0]} → {connections[1]}", f"≤ {POOL_LIMIT} (the pool's bound)",
         "yes" if connections[1] <= POOL_LIMIT else "no"),
    ]


def trim():
    """glibc's malloc_trim(0) in this process; returns RSS bytes freed (None off glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    before = psutil.Process().memory_info().rss
    libc.malloc_trim(0)
    return before - psutil.Process().memory_info().rss


class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def native_heap():
    """{part: bytes} of this process's native heap: glibc's blocks in use and free-but-held
    (all arenas, mallinfo2), and SQLite's own allocations (sqlite3_memory_used)."""
    found = {}
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Mallinfo2
        info = libc.mallinfo2()
        found["malloc in use"] = info.uordblks + info.hblkhd
        found["malloc free but held"] = info.fordblks
    except (OSError, AttributeError):
        pass
    library = next((line.split()[-1] for line in open("/proc/self/maps")
                    if "libsqlite3" in line), None)
    if library:
        sqlite = ctypes.CDLL(library)
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        found["SQLite"] = sqlite.sqlite3_memory_used()
    return found


def type_counts():
    return Counter(type(item).__name__ for item in gc.get_objects())


def traced(first, last, top=12):
    """Run in this process with tracemalloc; print what grew between `first` and `last` runs.
    Returns (traced growth, RSS growth, bytes malloc_trim gave back) per 100 runs as rows."""
    from storage.database import db

    bench = Bench()
    tracemalloc.start(25)
    taken, heaps = {}, {}

    def checkpoint(n):
        gc.collect()
        rss = psutil.Process().memory_info().rss
        heap = dict(native_heap(), threads=psutil.Process().num_threads())
        taken[n] = (tracemalloc.take_snapshot(), rss, type_counts(), trim())
        heap["traced Python"] = tracemalloc.get_traced_memory()[0]
        heaps[n] = heap
        with bench.app.app_context():
            pool = db.engine.pool
        print(f"after {n} runs: RSS {rss / MB:.1f} MB, " + ", ".join(
            f"{k} {v / MB:.2f} MB" if k != "threads" else f"{k} {v}" for k, v in heap.items())
            + f"; database pool: {pool.status()}", flush=True)

    try:
        run_groups(lambda: bench.start("/speech.mp4", episode=f"mem-{uuid.uuid4().hex[:8]}"),
                   lambda sid: requests.get(f"{bench.url}/api/pipeline/status/{sid}",
                                            timeout=10).json(),
                   last, 0, checkpoint, (first, last))
    finally:
        bench.close()
        tracemalloc.stop()
    (old, rss_first, types_first, _), (new, rss_last, types_last, freed) = taken[first], taken[last]
    print(f"\nAllocations that grew most from run {first} to run {last} (by traceback):")
    for stat in new.compare_to(old, "traceback")[:top]:
        if stat.size_diff <= 0:
            continue
        print(f"\n{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks")
        for line in stat.traceback.format(limit=6, most_recent_first=True):
            print("   ", line)
    print("\nObject types that grew in number:")
    grown = [(types_last[name] - types_first[name], name) for name in types_last]
    for diff, name in sorted(grown, reverse=True)[:top]:
        if diff > 0:
            print(f"  {name}: {diff:+d}")
    scale = 100 / (last - first)
    traced_growth = sum(s.size_diff for s in new.compare_to(old, "filename")) * scale
    parts = "; ".join(f"{k} {(heaps[last][k] - heaps[first][k]) * scale / MB:+.2f} MB"
                      for k in heaps[last] if k not in ("threads", "traced Python"))
    return [
        ("memory", "in-process: native heap growth per 100 runs", parts or "n/a",
         "(reported)", "-"),
        ("memory", "in-process: traced Python allocations growth per 100 runs",
         f"{traced_growth / MB:+.2f} MB", "(reported)", "-"),
        ("memory", "in-process: RSS growth per 100 runs (after gc, malloc_trim)",
         f"{(rss_last - rss_first) * scale / MB:+.1f} MB", "(reported)", "-"),
        ("memory", f"in-process: RSS malloc_trim(0) gave back after {last} runs",
         "n/a" if freed is None else f"{freed / MB:.1f} MB", "(reported)", "-"),
    ]


def rows(first=10, last=100, arena=False, trace=False):
    table = figure_rows("", server_figures(first, last), first, last)
    if arena:
        table += figure_rows("MALLOC_ARENA_MAX=2: ",
                             server_figures(first, last, {"MALLOC_ARENA_MAX": "2"}), first, last)
    if trace:
        table += traced(first, last)
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--first", type=int, default=10, help="runs before the first reading")
    parser.add_argument("--last", type=int, default=100, help="runs before the last reading")
    parser.add_argument("--quick", action="store_true", help="readings after 5 and 25 runs")
    parser.add_argument("--arena", action="store_true", help="also with MALLOC_ARENA_MAX=2")
    parser.add_argument("--trace", action="store_true", help="also in-process with tracemalloc")
    args = parser.parse_args()
    first, last = (5, 25) if args.quick else (args.first, args.last)
    print_rows("Memory", rows(first, last, args.arena, args.trace))


if __name__ == "__main__":
    main()
