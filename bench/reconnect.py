"""Reconnect: during a long run a subscribed client is cut off N times (default 100) and comes
back with {session_id, last_seq: the last seq it has}.

The server is a real `run.py` in a child process. Every other drop is a clean disconnect, the
others an engine-level drop (the client's TCP connection shut without a close handshake).
Time to caught-up: from the start of the new connect until the client holds every event up to
the `last_seq` of the snapshot it got on that subscribe. Over the whole run the seqs received
on all connections must be exactly 1..N, each once.
"""
import argparse
import socket
import statistics
import time

import requests
from harness import Listener, ServerProcess, percentile, print_rows

LONG = "speech-long.m4a"


def drop(client, abrupt):
    """End the client's connection: a clean disconnect, or its socket shut under it."""
    if abrupt:
        ws = getattr(client.sio.eio, "ws", None)
        sock = getattr(ws, "sock", None)
        if sock is not None:
            client._closing = True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            deadline = time.monotonic() + 5
            while client.sio.connected and time.monotonic() < deadline:
                time.sleep(0.01)
    client.close()


def cycle(url, session_id, have, abrupt, stay):
    """One connection; returns (seconds to caught-up, run events received, completed)."""
    last_seq = max(have) if have else 0
    started = time.monotonic()
    client = Listener(url).connect()
    client.subscribe(session_id, last_seq)
    if not client.snapshot.wait(30):
        raise RuntimeError("no snapshot after subscribe")
    snapshot = next(d for k, d, _ in client.received if k == "pipeline_snapshot")
    target = snapshot["last_seq"]
    needed = set(range(1, target + 1)) - have
    deadline = started + 30
    caught_up = None
    while time.monotonic() < deadline:
        if needed <= {d["seq"] for _k, d in client.run_events()}:
            caught_up = time.monotonic() - started
            break
        time.sleep(0.002)
    time.sleep(stay)
    drop(client, abrupt)
    return caught_up, [d["seq"] for _k, d in client.run_events()], client.completed.is_set()


def rows(cycles=100, repeats=150):
    server = ServerProcess([(LONG, repeats)])
    times, receipts, have = [], [], set()
    try:
        session_id = server.start(LONG)
        while server.status(session_id)["state"] == "queued":
            time.sleep(0.2)
        for number in range(cycles):
            caught_up, seqs, completed = cycle(server.url, session_id, have, number % 2 == 1,
                                               0.2 + (number % 5) * 0.1)
            times.append(caught_up)
            receipts.extend(seqs)
            have.update(seqs)
            if completed:
                raise RuntimeError(f"the run ended after {number + 1} reconnects: use a longer one")
        requests.post(f"{server.url}/api/pipeline/cancel/{session_id}", json={}, timeout=10)
        # The last connection stays until the run's completion event, the last seq.
        final = Listener(server.url).connect()
        final.subscribe(session_id, max(have))
        if not final.completed.wait(120):
            raise RuntimeError("no completion after the cancel")
        receipts.extend(d["seq"] for _k, d in final.run_events())
        final.close()
    finally:
        server.close()
    last = max(receipts)
    lost = len(set(range(1, last + 1)) - set(receipts))
    duplicated = len(receipts) - len(set(receipts))
    timed = [t for t in times if t is not None]
    never = len(times) - len(timed)
    median = statistics.median(timed)
    return [
        ("reconnect", f"time to caught-up over {cycles} reconnects: median / p95 / max",
         f"{median * 1000:.0f} / {percentile(timed, 0.95) * 1000:.0f} / {max(timed) * 1000:.0f} ms"
         + (f", {never} never caught up" if never else ""), "median < 0.5 s",
         "yes" if median < 0.5 and not never else "no"),
        ("reconnect", "events lost / duplicated over the run",
         f"{lost} / {duplicated} of {last} events", "0 / 0",
         "yes" if lost == duplicated == 0 else "no"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=100, help="reconnects")
    parser.add_argument("--quick", action="store_true", help="20 reconnects on a shorter run")
    args = parser.parse_args()
    print_rows("Reconnect", rows(20, 20) if args.quick else rows(args.n))


if __name__ == "__main__":
    main()
