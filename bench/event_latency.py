"""Event latency: from the server's emit (the event's `timestamp`) to receipt, at 1, 25 and 100
subscribed asyncio clients (python-socketio's AsyncClient), while a long transcription runs.

The server is a real `run.py` in a child process. One subscriber runs in this process (the view
of one browser), the others share one asyncio loop in a child process. For each phase a new run
of stages 1-2 starts on long looped speech, and the window is measured once it is
transcribing. Reports median, p99 and max latency over every run event
every client received, the longest gap between progress events, and clients dropped (an
unexpected disconnect, or a missing or repeated seq), for the one subscriber and for every
receipt. The other subscribers' CPU time per receipt is shown too: one Python loop reads every
copy of an event one after another, so for them part of the latency is the reading itself.
"""
import argparse
import asyncio
import gc
import multiprocessing
import statistics
import time

import requests
import socketio
from harness import ServerProcess, iso_seconds, percentile, print_rows

PHASES = (1, 25, 100)
LONG = "speech-long.m4a"


class Subscriber:
    """One AsyncClient's record: (kind, seq, arrival, latency) of each run event."""

    def __init__(self, url, session_id):
        self.url, self.session_id = url, session_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self.got = []
        self.dropped = False
        self.closing = False

        @self.sio.on("*")
        async def any_event(kind, data=None):
            if isinstance(data, dict) and data.get("session_id") == session_id and "seq" in data:
                arrived = time.time()
                self.got.append((kind, data["seq"], arrived, arrived - iso_seconds(data["timestamp"])))

        @self.sio.event
        async def disconnect(*_args):
            if not self.closing:
                self.dropped = True

    async def start(self):
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=30)
        await self.sio.emit("subscribe", {"session_id": self.session_id})

    def sequence_broken(self):
        seqs = [seq for _kind, seq, _at, _lat in self.got]
        return len(seqs) != len(set(seqs)) or sorted(seqs) != list(range(min(seqs), max(seqs) + 1))

    async def close(self):
        self.closing = True
        await self.sio.disconnect()


def others(url, session_id, count, conn):
    """Child process: `count` more subscribers in one asyncio loop. On "mark" it notes the
    time and its CPU time; on "stop" it sends back each one's receipts and whether it dropped."""

    async def main():
        clients = [Subscriber(url, session_id) for _ in range(count)]
        for batch in range(0, count, 25):
            await asyncio.gather(*(c.start() for c in clients[batch:batch + 25]))
        conn.send("ready")
        marks = []
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, conn.recv) == "mark":
            marks.append((time.time(), time.process_time()))
        for client in clients:
            await client.close()
        conn.send({"got": [c.got for c in clients], "marks": marks,
                   "dropped": sum(1 for c in clients if c.dropped or c.sequence_broken())})

    gc.collect()
    gc.freeze()
    asyncio.run(main())


def stats(latencies):
    return {"median": statistics.median(latencies), "p99": percentile(latencies, 0.99),
            "max": max(latencies), "count": len(latencies)}


def lower_children(pid, priority):
    """Give every thread of the server's child processes `priority`: a niceness, or "idle"
    (SCHED_IDLE: it runs only when nothing else wants the CPU). An experiment only."""
    import os

    import psutil

    for child in psutil.Process(pid).children(recursive=True):
        for thread in child.threads():
            try:
                if priority == "idle":
                    os.sched_setscheduler(thread.id, os.SCHED_IDLE, os.sched_param(0))
                else:
                    os.setpriority(os.PRIO_PROCESS, thread.id, int(priority))
            except (ProcessLookupError, PermissionError):
                pass


async def phase(server, count, window, children=None):
    """One subscriber in this process (the view of one browser) and count − 1 in a child."""
    session_id = server.start(LONG)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    helper = None
    if count > 1:
        helper = context.Process(target=others, args=(server.url, session_id, count - 1, child))
        helper.start()
        if not parent.poll(120) or parent.recv() != "ready":
            raise RuntimeError("the other subscribers did not connect")
    probe = Subscriber(server.url, session_id)
    await probe.start()
    try:
        deadline = time.monotonic() + 300
        while not transcribing(server, session_id):
            if time.monotonic() > deadline:
                raise RuntimeError("the run never started transcribing")
            await asyncio.sleep(0.5)
        if children is not None:
            lower_children(server.proc.pid, children)
        await asyncio.sleep(2)   # past the transcription's start
        parent.send("mark")
        opened = time.time()
        await asyncio.sleep(window)
        closed = time.time()
        parent.send("mark")
        requests.post(f"{server.url}/api/pipeline/cancel/{session_id}", json={}, timeout=10)
        await asyncio.sleep(1)
    finally:
        await probe.close()
        parent.send("stop")
    rest = parent.recv() if helper else {"got": [], "marks": [], "dropped": 0}
    if helper:
        helper.join(30)

    def within(got):
        return [lat for _k, _s, at, lat in got if opened <= at <= closed]

    mine = within(probe.got)
    theirs = [lat for got in rest["got"] for lat in within(got)]
    arrivals = [at for kind, _s, at, _l in probe.got
                if kind == "pipeline_progress" and opened <= at <= closed]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    cpu = None
    if len(rest["marks"]) == 2 and theirs:
        cpu = (rest["marks"][1][1] - rest["marks"][0][1]) / len(theirs)
    return {"clients": count, "probe": stats(mine), "all": stats(mine + theirs),
            "gap": max(gaps) if gaps else float("nan"),
            "dropped": rest["dropped"] + (probe.dropped or probe.sequence_broken()),
            "others_cpu": cpu}


def transcribing(server, session_id):
    """Whether the run is in stage 2's Transcribing sub-stage."""
    snapshot = server.status(session_id)
    running = next((s for s in snapshot["stages"] if s["status"] == "running"), None)
    return bool(running and running.get("sub_stage") == "Transcribing")


def ms(found):
    return (f"{found['median'] * 1000:.1f} / {found['p99'] * 1000:.1f} / "
            f"{found['max'] * 1000:.1f} ms ({found['count']} receipts)")


def rows(quick=False, phases=PHASES, children=None):
    window = 10 if quick else 90
    server = ServerProcess([(LONG, 20 if quick else 120)])
    # The clients' own garbage-collector pauses are not the server's latency.
    gc.collect()
    gc.freeze()
    results = []
    try:
        for count in phases:
            results.append(asyncio.run(phase(server, count, window, children)))
    finally:
        server.close()
    table = []
    for found in results:
        at = f"{found['clients']} subscriber(s)" + (
            f" (children at priority {children})" if children is not None else "")
        table.append(("event latency", f"{at}: one subscriber (own process), median / p99 / max",
                      ms(found["probe"]), "p99 < 25 ms at 100", "yes" if found["clients"] != 100
                      or found["probe"]["p99"] < 0.025 else "no"))
        if found["clients"] > 1:
            cpu = found["others_cpu"]
            table.append(("event latency", f"{at}: every receipt, median / p99 / max",
                          ms(found["all"]) + (f"; the other {found['clients'] - 1} share one "
                                              f"loop: {cpu * 1e6:.0f} µs CPU per receipt"
                                              if cpu else ""), "(reported)", "-"))
        table.append(("event latency", f"{at}: longest progress gap, clients dropped",
                      f"{found['gap']:.2f} s, {found['dropped']}", "≤ 1 s, 0",
                      "yes" if found["gap"] <= 1.0 and not found["dropped"] else "no"))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 s windows instead of 90 s")
    parser.add_argument("--phases", type=int, nargs="+", default=PHASES,
                        help="subscriber counts, one phase each")
    parser.add_argument("--children", help="experiment: once transcribing, give the server's "
                        "child processes this niceness, or 'idle' for SCHED_IDLE")
    args = parser.parse_args()
    print_rows("Event latency", rows(args.quick, args.phases, args.children))


if __name__ == "__main__":
    main()
