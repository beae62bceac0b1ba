"""What the isolated, checked playlist reading costs, and what a gzip bomb feed does to it.

- A loopback podcast feed of 50 items read in this process (yt-dlp's flat extraction, as the
  web process read it before) and in the expansion worker (a child process with its limits and
  every connection checked): the median and the spread of the time to the entries.
- A feed answered with about 260 KB of gzip that unpacks to 256 MiB: the time to the refusal
  and how much the reading process (this one, the parent) grew.

    .venv/bin/python bench/fetch_guard.py [-n 10]
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.config.loading import load_settings  # noqa: E402
from services.download.expansion import expand  # noqa: E402
from services.download.playlist import PlaylistError, read_playlist  # noqa: E402
from tests.media_support import MediaServer, write_feed  # noqa: E402
from tests.trap_support import TrapProxy  # noqa: E402

FEED_ITEMS = 50


def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spread(values):
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def timed(call, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def rows(runs=10):
    folder = Path(tempfile.mkdtemp())
    media = MediaServer(folder)
    trap = TrapProxy()
    settings = load_settings(overrides={"data_dir": str(folder)})
    try:
        feed = write_feed(folder, "feed.xml", media.url,
                          [(f"Episode {n}", "speech.mp4", "00:00:23") for n in range(FEED_ITEMS)])
        child_settings = {**settings, "block_private": False}
        inline = timed(lambda: read_playlist(feed, child_settings, limit=FEED_ITEMS), runs)
        isolated = timed(lambda: expand(feed, settings, limit=FEED_ITEMS), runs)
        bomb_times, growth = [], []
        for _ in range(max(3, runs // 3)):
            before = rss_mib()
            started = time.perf_counter()
            try:
                expand(f"{trap.url}/bomb.xml", settings)
            except PlaylistError as exc:
                assert exc.code == "too_large", exc.code
            bomb_times.append(time.perf_counter() - started)
            growth.append(rss_mib() - before)
    finally:
        media.close()
        trap.close()
    return [
        ("fetch guard", f"{FEED_ITEMS}-item feed, in-process read", spread(inline), "", ""),
        ("fetch guard", f"{FEED_ITEMS}-item feed, expansion worker", spread(isolated), "", ""),
        ("fetch guard", "gzip bomb feed: time to the 4xx", spread(bomb_times), "< 30 s",
         "yes" if max(bomb_times) < 30 else "no"),
        ("fetch guard", "gzip bomb feed: reader's growth",
         f"{max(growth):.1f} MiB (max of {len(growth)})", "< 50 MB",
         "yes" if max(growth) < 47.7 else "no"),
    ]


def main():
    from harness import print_rows

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10, help="reads of the feed in each way")
    args = parser.parse_args()
    print_rows("Playlist reading: in-process against the expansion worker", rows(args.n))


if __name__ == "__main__":
    main()
