"""Log flood: a stage that logs 2,000 lines a second for 10 s (numbered, paced every ms).

The server is the in-process harness with stage 1's work replaced by the flood. Its wall time
with the lines streamed (log_stream events, stored and sent to a subscriber) is compared with
a baseline where the `pipeline` logger drops them. The subscriber, in a child process, must get
every line once and in order with a gapless seq; meanwhile it times GET
/api/pipeline/status/<id> and socket ping→pong round trips. The stored lines are counted too.
"""
import argparse
import dataclasses
import logging
import multiprocessing
import statistics
import threading
import time
import uuid

import requests
from harness import Bench, Listener, percentile, print_rows

RATE = 2000
PREFIX = "flood line "
SETTLE = 1.0   # seconds the stage waits before flooding, so the subscriber is live


class Flood:
    """Stage work that logs `RATE` numbered lines a second for `seconds`, paced every ms."""

    def __init__(self, seconds):
        self.seconds = seconds
        # (wall-clock start, wall-clock end, monotonic duration, seconds inside the log calls)
        self.windows = []

    def __call__(self, ctx):
        log = logging.getLogger("pipeline")
        ctx.sub_stage("Downloading media")
        time.sleep(SETTLE)
        total = int(RATE * self.seconds)
        wall, started, in_log = time.time(), time.monotonic(), 0.0
        for number in range(total):
            due = started + number / RATE
            late = due - time.monotonic()
            if late > 0:
                time.sleep(late)
            called = time.perf_counter()
            log.info("%s%05d of %d", PREFIX, number, total)
            in_log += time.perf_counter() - called
        self.windows.append((wall, time.time(), time.monotonic() - started, in_log))
        return []


def watch(url, conn):
    """Child process: subscribe to the run conn sends, time status and ping round trips until
    the run completes, and send back what was received."""
    client = Listener(url).connect()
    conn.send("ready")
    session_id = conn.recv()
    client.subscribe(session_id)
    statuses, pings = [], []

    def poll_status():
        while not client.completed.is_set():
            sent = time.monotonic()
            requests.get(f"{url}/api/pipeline/status/{session_id}", timeout=30).raise_for_status()
            statuses.append((time.time(), time.monotonic() - sent))
            time.sleep(0.1)

    poller = threading.Thread(target=poll_status, daemon=True)
    poller.start()
    tag = 0
    while not client.completed.wait(0.1):
        tag += 1
        pings.append((time.time(), client.ping(tag)))
    poller.join(30)
    events = client.run_events()
    lines = [d["message"] for k, d in events if k == "log_stream" and d["message"].startswith(PREFIX)]
    conn.send({"seqs": [d["seq"] for _k, d in events], "lines": lines, "statuses": statuses,
               "pings": pings, "dropped": client.dropped})
    client.close()


def flood_run(bench, flood, streamed):
    """One run of the flood stage; returns (flood seconds, what the subscriber got, stored lines)."""
    pipeline_logger = logging.getLogger("pipeline")
    level = pipeline_logger.level
    if not streamed:
        pipeline_logger.setLevel(logging.WARNING)
    parent, child = multiprocessing.get_context("spawn").Pipe()
    watcher = multiprocessing.get_context("spawn").Process(target=watch, args=(bench.url, child))
    watcher.start()
    try:
        assert parent.poll(60) and parent.recv() == "ready"
        session_id = bench.start("/speech.mp4", stages=(1,), episode=f"flood-{uuid.uuid4().hex[:8]}")
        parent.send(session_id)
        if not parent.poll(600):
            raise RuntimeError("the subscriber did not finish")
        got = parent.recv()
    finally:
        watcher.join(30)
        pipeline_logger.setLevel(level)
    stored = requests.get(f"{bench.url}/api/pipeline/events/{session_id}?since=0", timeout=60).json()
    stored_lines = sum(1 for item in stored["events"] if item["event"] == "log_stream"
                       and item["data"]["message"].startswith(PREFIX))
    return flood.windows[-1], got, stored_lines


def rows(seconds=10.0, trials=2):
    from services import stages

    flood = Flood(seconds)
    original = stages.STAGES_BY_NUMBER[1]
    stages.STAGES_BY_NUMBER[1] = dataclasses.replace(original, run=flood, parameters=lambda ctx: {})
    bench = Bench()
    baseline, streamed, checks, logging_share = [], [], [], []
    try:
        for _ in range(trials):   # alternate, so both see the same machine
            baseline.append(flood_run(bench, flood, False)[0][2])
            window, got, stored = flood_run(bench, flood, True)
            streamed.append(window[2])
            logging_share.append(window[3] / window[2])
            checks.append((window, got, stored))
    finally:
        stages.STAGES_BY_NUMBER[1] = original
        bench.close()
    total = int(RATE * seconds)
    expected = [f"{PREFIX}{n:05d} of {total}" for n in range(total)]
    in_order = sum(got["lines"] == expected for _w, got, _s in checks)
    gapless = sum(got["seqs"] == list(range(1, len(got["seqs"]) + 1)) and not got["dropped"]
                  for _w, got, _s in checks)
    received = min(len(got["lines"]) for _w, got, _s in checks)
    stored = min(s for _w, _g, s in checks)
    status = [lat for (start, end, _d, _l), got, _s in checks
              for at, lat in got["statuses"] if start <= at <= end]
    pings = [lat for (start, end, _d, _l), got, _s in checks
             for at, lat in got["pings"] if start <= at <= end and lat is not None]
    lost_pings = sum(1 for (start, end, _d, _l), got, _s in checks
                     for at, lat in got["pings"] if start <= at <= end and lat is None)
    per_line = statistics.median(w[3] for w, _g, _s in checks) / total
    base, flooded = statistics.median(baseline), statistics.median(streamed)
    slowdown = flooded / base - 1
    return [
        ("log flood", f"flood stage wall time streamed / not streamed (median of {trials})",
         f"{slowdown * 100:+.1f} % ({flooded:.2f} s / {base:.2f} s)", "< 5 %",
         "yes" if slowdown < 0.05 else "no"),
        ("log flood", "time inside the stage's log calls (streamed): share of the flood, per line",
         f"{statistics.median(logging_share) * 100:.1f} %, {per_line * 1e6:.0f} µs",
         "(reported)", "-"),
        ("log flood", "lines received in order, gapless seq (worst run)",
         f"{received} of {total}; {in_order}/{trials} in order, {gapless}/{trials} gapless",
         f"{total}, all", "yes" if in_order == gapless == trials else "no"),
        ("log flood", "lines stored (GET events?since=0, worst run)", f"{stored} of {total}",
         f"{total}", "yes" if stored == total else "no"),
        ("log flood", "GET status during the flood: median / max",
         f"{statistics.median(status) * 1000:.1f} / {max(status) * 1000:.1f} ms "
         f"({len(status)} requests)", "(reported)", "-"),
        ("log flood", "ping→pong during the flood: median / p95 / max",
         f"{statistics.median(pings) * 1000:.1f} / {percentile(pings, 0.95) * 1000:.1f} / "
         f"{max(pings) * 1000:.1f} ms ({len(pings)} pings, {lost_pings} unanswered)",
         "(reported)", "-"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="flood length")
    parser.add_argument("-n", type=int, default=2, help="trials of each (streamed, baseline)")
    parser.add_argument("--quick", action="store_true", help="one 3 s flood of each")
    args = parser.parse_args()
    print_rows("Log flood", rows(3.0, 1) if args.quick else rows(args.seconds, args.n))


if __name__ == "__main__":
    main()
