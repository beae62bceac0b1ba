"""Event latency: from the server's emit (the event's `timestamp`) to receipt, at 1, 25 and 100
subscribed asyncio clients (python-socketio's AsyncClient), while a long transcription runs.

The server is a real `run.py` in a child process; the clients share one asyncio loop in this
process. For each phase a new run of stages 1-2 starts on long looped speech, and the window is
measured once it is transcribing. Reports median, p99 and max latency over every run event
every client received, the longest gap between progress events, and clients dropped (an
unexpected disconnect, or a missing or repeated seq).
"""
import argparse
import asyncio
import gc
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


async def phase(server, count, window):
    session_id = server.start(LONG)
    clients = [Subscriber(server.url, session_id) for _ in range(count)]
    for batch in range(0, count, 25):
        await asyncio.gather(*(c.start() for c in clients[batch:batch + 25]))
    deadline = time.monotonic() + 300
    while not transcribing(server, session_id):
        if time.monotonic() > deadline:
            raise RuntimeError("the run never started transcribing")
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)   # past the transcription's start
    opened = time.time()
    await asyncio.sleep(window)
    closed = time.time()
    requests.post(f"{server.url}/api/pipeline/cancel/{session_id}", timeout=10)
    await asyncio.sleep(1)
    for client in clients:
        await client.close()
    latencies = [lat for c in clients for _k, _s, at, lat in c.got if opened <= at <= closed]
    arrivals = [at for kind, _s, at, _l in clients[0].got
                if kind == "pipeline_progress" and opened <= at <= closed]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    dropped = sum(1 for c in clients if c.dropped or c.sequence_broken())
    return {"clients": count, "events": len(latencies), "median": statistics.median(latencies),
            "p99": percentile(latencies, 0.99), "max": max(latencies),
            "gap": max(gaps) if gaps else float("nan"), "dropped": dropped}


def transcribing(server, session_id):
    """Whether the run is in stage 2's Transcribing sub-stage."""
    snapshot = server.status(session_id)
    running = next((s for s in snapshot["stages"] if s["status"] == "running"), None)
    return bool(running and running.get("sub_stage") == "Transcribing")


def rows(quick=False):
    window = 10 if quick else 40
    server = ServerProcess([(LONG, 20 if quick else 45)])
    # The clients' own garbage-collector pauses are not the server's latency.
    gc.collect()
    gc.freeze()
    results = []
    try:
        for count in PHASES:
            results.append(asyncio.run(phase(server, count, window)))
    finally:
        server.close()
    table = []
    for found in results:
        at = f"{found['clients']} subscriber(s)"
        table.append(("event latency", f"{at}: median / p99 / max",
                      f"{found['median'] * 1000:.1f} / {found['p99'] * 1000:.1f} / "
                      f"{found['max'] * 1000:.1f} ms ({found['events']} receipts)",
                      "p99 < 25 ms at 100", "yes" if found["clients"] != 100 or
                      found["p99"] < 0.025 else "no"))
        table.append(("event latency", f"{at}: longest progress gap, clients dropped",
                      f"{found['gap']:.2f} s, {found['dropped']}", "≤ 1 s, 0",
                      "yes" if found["gap"] <= 1.0 and not found["dropped"] else "no"))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 s windows instead of 40 s")
    args = parser.parse_args()
    print_rows("Event latency", rows(args.quick))


if __name__ == "__main__":
    main()
