"""ETA accuracy: after 3 runs of similar media, the error of `estimated_remaining` at 25/50/75 %.

Runs stages 1-2 on ~2.7, ~3.1 and ~3.5 minute speech files, then on a fourth ~3.1 minute
file, and compares each estimate with the time that really remained. Errors are in seconds
and in percent of the run's whole duration. The first run (no history) is shown for contrast.
"""
import statistics
from datetime import datetime

from harness import Bench

MARKS = (25, 50, 75)
RUNS = [("/speech-x7.m4a", "history 1"), ("/speech-x8.m4a", "history 2"),
        ("/speech-x9.m4a", "history 3"), ("/speech-x8.m4a?fourth", "fourth run")]


def stamp(event):
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()


def errors_of(received):
    progress = [d for k, d, _ in received if k == "pipeline_progress"]
    completion = next(d for k, d, _ in received if k == "pipeline_completion")
    start, end = stamp(progress[0]) - progress[0]["time_elapsed"], stamp(completion)
    total = end - start
    found = {}
    for mark in MARKS:
        event = next(e for e in progress if e["progress"] >= mark and e["estimated_remaining"] is not None)
        actual = end - stamp(event)
        error = abs(event["estimated_remaining"] - actual)
        found[mark] = (event["estimated_remaining"], actual, error, 100 * error / total)
    return total, found


def main():
    bench = Bench()
    table = []
    try:
        for path, label in RUNS:
            client = bench.watch(bench.start(path))
            status, _ = bench.finished(client)
            client.disconnect()
            assert status == "completed", status
            total, found = errors_of(client.received)
            table.append((label, total, found))
    finally:
        bench.close()
    print(f"\n{'run':<12}{'duration s':>11}" + "".join(
        f"{f'@{m}% est/actual s':>22}{'err %':>7}" for m in MARKS))
    for label, total, found in table:
        cells = "".join(f"{f'{e:.1f}/{a:.1f}':>22}{p:>7.1f}" for e, a, _, p in found.values())
        print(f"{label:<12}{total:>11.1f}{cells}")
    fourth = table[-1][2]
    print(f"\nfourth run: median error {statistics.median(v[3] for v in fourth.values()):.1f} % of its "
          f"duration ({statistics.median(v[2] for v in fourth.values()):.2f} s); first run without "
          f"history: {statistics.median(v[3] for v in table[0][2].values()):.1f} %")


if __name__ == "__main__":
    main()
