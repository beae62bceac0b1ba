"""Cancel latency per stage: from the cancel request to `pipeline_completion {cancelled}`.

Prints a table with the median and p95 over N cancels per point (default 10), rotating the
three entry points (HTTP interrupt, HTTP cancel, socket cancel).
"""
import argparse
import os
import statistics
import uuid

import requests
from harness import Bench, now, percentile

from tests.media_support import child_processes

POINTS = [
    ("1 Downloading media", "/slow/speech.mp4", "Downloading media", False),
    ("1 Extracting audio", "/speech-x150.m4a", "Extracting audio", False),
    ("2 Loading model", "/speech-x8.m4a", "Loading model", True),
    ("2 Transcribing", "/speech-x8.m4a", "Transcribing", True),
]
ENTRIES = ("interrupt", "cancel", "socket")


def cancel_once(bench, path, sub_stage, episode, entry):
    session_id = bench.start(path, episode=episode)
    client = bench.watch(session_id)
    try:
        client.wait_for(lambda got: any(
            k == "pipeline_progress" and d["sub_stage"] == sub_stage and
            (sub_stage != "Downloading media" or d["sub_progress"]) for k, d, _ in got), 300)
        asked = now()
        if entry == "socket":
            client.emit("cancel", {"session_id": session_id})
        else:
            route = "pipeline/interrupt" if entry == "interrupt" else "api/pipeline/cancel"
            requests.post(f"{bench.url}/{route}/{session_id}", json={}, timeout=5).raise_for_status()
        status, arrived = bench.finished(client, 30)
    finally:
        client.disconnect()
    assert status == "cancelled", status
    return arrived - asked


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10, help="cancels per point")
    args = parser.parse_args()
    bench = Bench()
    rows = []
    try:
        for label, path, sub_stage, reuse_stage_1 in POINTS:
            # Transcription points reuse one episode whose stage 1 is already done.
            episode = f"bench-{uuid.uuid4().hex[:6]}" if reuse_stage_1 else None
            if reuse_stage_1:
                client = bench.watch(bench.start(path, stages=(1,), episode=episode))
                bench.finished(client)
                client.disconnect()
            latencies = []
            for index in range(args.n):
                run_episode = episode or f"bench-{uuid.uuid4().hex[:8]}"
                latencies.append(cancel_once(bench, path, sub_stage, run_episode,
                                             ENTRIES[index % len(ENTRIES)]))
            leftovers = child_processes(os.getpid())
            rows.append((label, len(latencies), statistics.median(latencies),
                         percentile(latencies, 0.95), max(latencies), len(leftovers)))
    finally:
        bench.close()
    print(f"\n{'stage / sub-stage':<24}{'n':>4}{'median s':>10}{'p95 s':>8}{'max s':>8}{'children left':>15}")
    for label, count, median, p95, worst, left in rows:
        print(f"{label:<24}{count:>4}{median:>10.3f}{p95:>8.3f}{worst:>8.3f}{left:>15}")


if __name__ == "__main__":
    main()
