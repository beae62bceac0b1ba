"""Runs on RQ workers: a real redis-server, a `run.py` web server with `runner: rq`, and two
`run.py worker` processes sharing its data folder."""
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from services.config.loading import ConfigError, load_settings
from tests.conftest import RecordingClient
from tests.media_support import child_processes
from tests.redis_support import cluster, media, redis_server  # noqa: F401
from tests.redis_support import unique_url as _url
from tests.server_support import run_status, start_run, wait_for, wait_state

pytestmark = pytest.mark.timeout(600)


def _pid_of(worker_name):
    return int(worker_name.rsplit(":", 1)[-1])


def _child_niceness(pid):
    """The nice values of the live children of `pid` (from /proc)."""
    values = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split() if stat else []
        if fields and int(fields[1]) == pid and fields[0] != "Z":
            values.append(int(fields[16]))
    return values


def _subscribed_until_transcribing(cluster, session_id):
    """A client subscribed to the run, returned once the run reports transcribed audio."""
    client = RecordingClient(cluster.url).connect()
    try:
        client.emit("subscribe", {"session_id": session_id})
        client.wait_for(lambda got: any(
            k == "pipeline_progress" and d["sub_stage"] == "Transcribing" and d["sub_progress"]
            for k, d, _ in got), 120)
    except BaseException:
        client.disconnect()
        raise
    return client


def _whole_sequence(received, session_id):
    """The seqs a client received for a run, each once, and how many came more than once."""
    seqs = [data["seq"] for kind, data in received if data.get("session_id") == session_id]
    return sorted(set(seqs)), len(seqs) - len(set(seqs))


class ChildWatch:
    """Samples the web server's child processes until stopped."""

    def __init__(self, pid):
        self.pid, self.seen, self.samples = pid, set(), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._stop.wait(0.1):
            self.seen.update(child_processes(self.pid, ("ffmpeg", "python", "ffprobe")))
            self.samples += 1

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        return self.seen


def test_settings_name_the_runner():
    assert load_settings(environ={})["runner"] == "thread"
    settings = load_settings(environ={"PIPELINE_RUNNER": "rq",
                                      "PIPELINE_REDIS_URL": "redis://127.0.0.1:6379/2"})
    assert settings["runner"] == "rq" and settings["redis_url"] == "redis://127.0.0.1:6379/2"
    assert settings["socketio"]["message_queue"] == "redis://127.0.0.1:6379/2"
    with pytest.raises(ConfigError, match="redis_url"):
        load_settings(environ={"PIPELINE_RUNNER": "rq"})
    with pytest.raises(ConfigError, match="runner"):
        load_settings(environ={"PIPELINE_RUNNER": "celery"})
    with pytest.raises(ConfigError, match="Redis URL"):
        load_settings(environ={"PIPELINE_RUNNER": "rq", "PIPELINE_REDIS_URL": "http://x"})


def test_runs_spread_over_workers_with_whole_sequences(cluster, media):  # noqa: F811
    """Two runs run at once on the two workers (max_concurrent_runs 2), a third waits in the
    queue; a socket client sees every run's gapless sequence; the web process starts no
    ffmpeg or transcription child."""
    watch = ChildWatch(cluster.web.pid)
    client = RecordingClient(cluster.url).connect()
    try:
        ids = [start_run(cluster.url, _url(media, "speech-x3"), stages=(1, 2),
                         episode_directory=f"spread-{n}") for n in range(3)]
        for session_id in ids[:2]:
            client.emit("subscribe", {"session_id": session_id})
        third = run_status(cluster.url, ids[2])
        assert third["state"] == "queued" and third["queue_position"] == 1, third
        assert third["queue_reason"] == "waiting for a free slot"
        # Both first runs are running at the same moment.
        wait_for(lambda: [run_status(cluster.url, s)["state"] for s in ids[:2]] == ["running"] * 2,
                 timeout=60, interval=0.1,
                 message=lambda: [run_status(cluster.url, s)["state"] for s in ids[:2]])
        # A client subscribing mid-run with an old last_seq gets what it missed, live after:
        # once both running runs have reported progress.
        client.wait_for(lambda got: {d["session_id"] for k, d, _ in got
                                     if k == "pipeline_progress"} >= set(ids[:2]), timeout=60)
        client.emit("subscribe", {"session_id": ids[2], "last_seq": 0})
        for session_id in ids:
            wait_state(cluster.url, session_id, timeout=240)
        client.wait_for(lambda got: sum(k == "pipeline_completion" for k, *_ in got) >= 3, 30)
    finally:
        client.disconnect()
        seen = watch.stop()
    assert watch.samples > 50 and not seen, seen
    for session_id in ids:
        assert run_status(cluster.url, session_id)["state"] == "completed"
        stored = cluster.events(session_id)
        seqs, _twice = _whole_sequence(client.run_events(), session_id)
        assert seqs == list(range(1, len(stored) + 1)), session_id
        assert [data["seq"] for _kind, data in stored] == seqs
        assert stored[-1][0] == "pipeline_completion"
        progress = [d["progress"] for k, d in stored if k == "pipeline_progress"]
        assert progress == sorted(progress)
    first, second = (cluster.taken_by(s) for s in ids[:2])
    assert len(first) == len(second) == 1 and first != second
    assert {_pid_of(first[0]), _pid_of(second[0])} == {w.pid for w in cluster.workers}


def test_cancel_reaches_the_worker_within_a_second(cluster, media):  # noqa: F811
    session_id = start_run(cluster.url, _url(media, "speech-3min"),
                           stages=(1, 2), episode_directory="cancel-on-worker")
    client = _subscribed_until_transcribing(cluster, session_id)
    try:
        worker = _pid_of(cluster.taken_by(session_id)[0])
        assert child_processes(worker), "the transcription runs in a child of the worker"
        # ... at a lower CPU priority than the processes that deliver events
        assert set(_child_niceness(worker)) == {5}
        asked = time.monotonic()
        answer = requests.post(f"{cluster.url}/api/pipeline/cancel/{session_id}", json={}, timeout=5)
        assert answer.status_code == 200 and answer.json()["status"] == "cancelling"
        completion = client.wait_kind("pipeline_completion", 10)
        took = next(at for k, _d, at in client.received if k == "pipeline_completion") - asked
    finally:
        client.disconnect()
    assert completion["status"] == "cancelled"
    assert took < 1.0, took
    assert child_processes(worker) == []
    snapshot = wait_state(cluster.url, session_id, timeout=10)
    assert snapshot["state"] == "cancelled"
    stages = {s["stage"]: s["status"] for s in snapshot["stages"]}
    assert stages == {1: "completed", 2: "cancelled"}


def test_cancel_of_a_run_waiting_for_a_slot(cluster, media):  # noqa: F811
    """With both slots taken, a third run waits in the database queue; its cancel ends it at
    once, and no worker ever starts it."""
    ids = [start_run(cluster.url, _url(media, "speech-3min"), stages=(1, 2),
                     episode_directory=f"slot-{n}") for n in range(3)]
    queued = run_status(cluster.url, ids[2])
    assert queued["state"] == "queued" and queued["queue_position"] == 1
    answer = requests.post(f"{cluster.url}/api/pipeline/cancel/{ids[2]}", json={}, timeout=5)
    assert answer.json()["status"] == "cancelled"
    for session_id in ids[:2]:
        requests.post(f"{cluster.url}/api/pipeline/cancel/{session_id}", json={}, timeout=5)
    for session_id in ids:
        assert wait_state(cluster.url, session_id, timeout=30)["state"] == "cancelled"
    assert cluster.taken_by(ids[2]) == []
    kinds = [k for k, _d in cluster.events(ids[2])]
    assert kinds == ["pipeline_completion"]


def test_headless_run_beside_the_workers_is_not_taken_for_lost(cluster, media):  # noqa: F811
    """`run.py process` with the same configuration runs here, marked alive in Redis: no
    worker takes it and the dashboard's watch does not call it interrupted."""
    import subprocess
    import sys

    from tests.server_support import ROOT

    done = subprocess.run([sys.executable, "run.py", "process", _url(media, "speech-x3"),
                           "--stages", "1,2", "--episode", "headless", "--data-dir",
                           str(cluster.data_dir)], cwd=ROOT, env=cluster.env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    import sqlite3

    with sqlite3.connect(cluster.data_dir / "pipeline.db") as database:
        (session_id,) = database.execute(
            "SELECT session_id FROM run WHERE episode_dir = 'headless'").fetchone()
    assert run_status(cluster.url, session_id)["state"] == "completed"
    assert cluster.taken_by(session_id) == []
    kinds = [k for k, _d in cluster.events(session_id)]
    assert "pipeline_error" not in kinds and kinds[-1] == "pipeline_completion"


def test_a_second_web_server_shares_the_runs(cluster, media, tmp_path):  # noqa: F811
    """Two dashboards on one data folder and one Redis: a run started through one is followed
    live through the other (Socket.IO's message queue), and both show the same state."""
    from tests.server_support import start_server

    second, second_url = start_server(cluster.data_dir, tmp_path / "web-2.log", env=cluster.env)
    try:
        session_id = start_run(second_url, _url(media, "speech-x3"), stages=(1,),
                               episode_directory="second-web")
        client = RecordingClient(cluster.url).connect()
        try:
            client.emit("subscribe", {"session_id": session_id})
            completion = client.wait_kind("pipeline_completion", 120)
        finally:
            client.disconnect()
        assert completion["status"] == "completed"
        seqs, _twice = _whole_sequence(client.run_events(), session_id)
        assert seqs == list(range(1, completion["seq"] + 1))
        assert run_status(second_url, session_id)["state"] == "completed"
    finally:
        second.terminate()
        second.wait(20)


def test_killed_worker_leaves_an_interrupted_run_that_resumes_elsewhere(cluster, media):  # noqa: F811
    session_id = start_run(cluster.url, _url(media, "speech-3min"),
                           stages=(1, 2), episode_directory="killed-worker")
    client = _subscribed_until_transcribing(cluster, session_id)
    try:
        victim = _pid_of(cluster.taken_by(session_id)[0])
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        snapshot = wait_state(cluster.url, session_id, states=("interrupted",), timeout=30)
        noticed = time.monotonic() - killed
        error = client.wait_kind("pipeline_error", 10)
    finally:
        client.disconnect()
    assert noticed < 30
    assert error["error"]["type"] == "Interrupted" and error["recoverable"] is True
    assert "worker" in snapshot["error"] and "stage 2" in snapshot["error"]
    answer = requests.post(f"{cluster.url}/api/pipeline/resume/{session_id}", json={}, timeout=5)
    assert answer.status_code == 202, answer.text
    done = wait_state(cluster.url, session_id, timeout=240)
    assert done["state"] == "completed"
    taken = cluster.taken_by(session_id)
    assert len(taken) == 2 and _pid_of(taken[1]) != victim
    assert {s["stage"]: s["status"] for s in done["stages"]} == {1: "completed", 2: "completed"}
    stored = [data["seq"] for _kind, data in cluster.events(session_id)]
    assert stored == list(range(1, len(stored) + 1))
    cluster.add_worker()   # two workers again for whatever runs next


def test_doctor_counts_the_workers(cluster, redis_server):  # noqa: F811
    from services.doctor.system import check_redis

    settings = {"runner": "rq", "redis_url": redis_server.url}
    found = check_redis(settings)
    assert found.status == "ok", found
    assert int(found.detail.split("; ")[1].split()[0]) >= len(cluster.live_workers()) == 2
    empty = redis_server.url.rsplit("/", 1)[0] + "/5"   # a database no worker listens on
    found = check_redis({"runner": "rq", "redis_url": empty})
    assert found.status == "warn" and "no RQ worker" in found.detail and "run.py worker" in found.fix
