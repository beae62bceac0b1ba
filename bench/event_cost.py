"""Where an event's time goes: the parts of recording and sending one run event, timed in the
server's process (the in-process harness) with 100 subscribers, idle and while a long
transcription runs.

Parts: JSON encoding of a progress event, the SQLite append (one event, one transaction), the
whole EventRecorder.emit (seq, store, broadcast), the socketio.emit call to a room of 100, and
the delivery of a probe event to all 100 clients (an asyncio loop of python-socketio
AsyncClients in a child process): spaced probes, and a burst sent back to back.
"""
import argparse
import asyncio
import json
import multiprocessing
import statistics
import time

import requests
from harness import Bench, percentile, print_rows

CLIENTS = 100
PROBE = "bench_probe"


def subscribers(url, session_id, conn):
    """Child process: CLIENTS subscribed clients; on each "report" sends back, per probe
    number, each client's (probe's `sent` time, arrival time)."""
    import socketio

    arrivals = {}

    async def main():
        clients = []
        for _ in range(CLIENTS):
            sio = socketio.AsyncClient(reconnection=False)

            @sio.on(PROBE)
            async def probe(data):
                arrivals.setdefault(data["i"], []).append((data["sent"], time.time()))

            clients.append(sio)
        for start in range(0, CLIENTS, 25):
            await asyncio.gather(*(c.connect(url, transports=["websocket"], wait_timeout=30)
                                   for c in clients[start:start + 25]))
        await asyncio.gather(*(c.emit("subscribe", {"session_id": session_id}) for c in clients))
        await asyncio.sleep(1)
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                break
            # Report once no probe has come for 0.5 s (a burst takes a while to read).
            count, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < 0.5:
                await asyncio.sleep(0.05)
                now = sum(map(len, arrivals.values()))
                if now != count:
                    count, quiet_since = now, time.monotonic()
            conn.send(arrivals.copy())
            arrivals.clear()
        for c in clients:
            await c.disconnect()

    asyncio.run(main())


def timed_each(function, count, pause=0.0):
    """Seconds each of `count` calls of function(i) took (`pause` seconds between calls)."""
    spent = []
    for number in range(count):
        started = time.perf_counter()
        function(number)
        spent.append(time.perf_counter() - started)
        time.sleep(pause)
    return spent


def measure(bench, session_id, conn, count, seq_base):
    """{part: seconds per call or delivery delays} for one condition."""
    from services.engine import events
    from webui.sockets import room_for

    pipeline = bench.app.extensions["pipeline"]
    socketio = bench.app.extensions["socketio"]
    stored = pipeline.store.events_since(session_id, 0)
    payload = next(event for kind, event in stored if kind == events.PROGRESS)
    room = room_for(session_id)
    found = {"json.dumps of a progress event": timed_each(lambda i: json.dumps(payload), count)}
    found["SQLite append of one event"] = timed_each(
        lambda i: pipeline.store.append_events(
            session_id, [(events.PROGRESS, dict(payload, seq=seq_base + i))]), count)
    found["EventRecorder.emit (seq, store, broadcast to 100)"] = timed_each(
        lambda i: pipeline.recorder.emit(session_id, events.PROGRESS, payload), count, 0.02)

    def probe(i):
        socketio.emit(PROBE, {"i": i, "sent": time.time()}, to=room)

    found["socketio.emit call to a room of 100"] = timed_each(probe, count, 0.02)
    conn.send("report")
    found["spaced probe: delivery to each of 100"] = [
        arrived - sent for pairs in conn.recv().values() for sent, arrived in pairs]
    started = time.time()
    for i in range(count):
        probe(i)
    conn.send("report")
    burst = conn.recv()
    complete = all(len(burst.get(i, ())) == CLIENTS for i in range(count))
    found[f"burst of {count} probes: until all 100 have all"] = [
        max(arrived for pairs in burst.values() for _sent, arrived in pairs) - started
        if complete else float("nan")]
    return found


def transcribing(bench, session_id):
    snapshot = requests.get(f"{bench.url}/api/pipeline/status/{session_id}", timeout=10).json()
    running = next((s for s in snapshot["stages"] if s["status"] == "running"), None)
    return bool(running and running.get("sub_stage") == "Transcribing")


def rows(count=200):
    bench = Bench()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    watcher = None
    results = {}
    try:
        client = bench.watch(bench.start("/speech.mp4", stages=(1,)))
        bench.finished(client)
        session_id = next(d["session_id"] for k, d, _ in client.received if "seq" in d)
        client.disconnect()
        watcher = context.Process(target=subscribers, args=(bench.url, session_id, child))
        watcher.start()
        if not parent.poll(120) or parent.recv() != "ready":
            raise RuntimeError("the subscribers did not connect")
        results["idle"] = measure(bench, session_id, parent, count, 1_000_000)
        busy = bench.start("/speech-x150.m4a")
        deadline = time.monotonic() + 300
        while not transcribing(bench, busy):
            if time.monotonic() > deadline:
                raise RuntimeError("the long run never started transcribing")
            time.sleep(0.5)
        time.sleep(2)
        results["transcribing"] = measure(bench, session_id, parent, count, 2_000_000)
        requests.post(f"{bench.url}/api/pipeline/cancel/{busy}", json={}, timeout=10)
    finally:
        if watcher is not None:
            parent.send("stop")
            watcher.join(30)
        bench.close()
    table = []
    for condition, found in results.items():
        for part, values in found.items():
            if len(values) == 1:
                measured = f"{values[0] * 1000:.1f} ms"
            else:
                measured = (f"{statistics.median(values) * 1000:.2f} / "
                            f"{percentile(values, 0.99) * 1000:.2f} / {max(values) * 1000:.2f} ms")
            table.append(("event cost", f"{condition}: {part}" + ("" if len(values) == 1 else
                          " (median / p99 / max)"), measured, "(reported)", "-"))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200, help="calls per part")
    parser.add_argument("--quick", action="store_true", help="50 calls per part")
    args = parser.parse_args()
    print_rows("Event cost", rows(50 if args.quick else args.n))


if __name__ == "__main__":
    main()
