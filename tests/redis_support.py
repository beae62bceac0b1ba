"""A real redis-server on a free loopback port, and a dashboard with RQ workers around it."""
import os
import shutil
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from tests.media_support import MediaServer, looped_speech
from tests.server_support import ROOT, free_port, start_server, wait_for


class RedisServer:
    """`redis-server` (the Debian package) without persistence, in `folder`."""

    def __init__(self, folder):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server; "
                               "`make test` installs it)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)

        def answers():
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        try:
            wait_for(answers, timeout=20, interval=0.05)
        except AssertionError:
            self.stop()
            raise RuntimeError("redis-server did not start") from None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


class Cluster:
    """A `run.py` web server with `runner: rq` and `run.py worker` processes, one data folder."""

    def __init__(self, folder, redis_url, max_concurrent=2, workers=2):
        self.folder = folder
        self.data_dir = folder / "data"
        self.env = dict(os.environ, PIPELINE_RUNNER="rq", PIPELINE_REDIS_URL=redis_url,
                        PIPELINE_MAX_CONCURRENT_RUNS=str(max_concurrent))
        self.web, self.url = start_server(self.data_dir, folder / "web.log", env=self.env)
        self.workers = []
        for _ in range(workers):
            self.add_worker()

    def add_worker(self):
        """Start one more worker; returns its process once it waits for runs."""
        log_path = self.folder / f"worker-{len(self.workers) + 1}.log"
        log_file = open(log_path, "ab")
        proc = subprocess.Popen([sys.executable, "run.py", "worker", "--data-dir",
                                 str(self.data_dir)],
                                cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=self.env)
        proc.log_path = log_path
        wait_for(lambda: b"waiting for runs" in log_path.read_bytes() or proc.poll() is not None,
                 timeout=60, interval=0.1,
                 message=lambda: f"worker did not start: {log_path.read_text()[-2000:]}")
        if proc.poll() is not None:
            raise AssertionError(f"worker did not start: {log_path.read_text()[-2000:]}")
        self.workers.append(proc)
        return proc

    def live_workers(self):
        return [proc for proc in self.workers if proc.poll() is None]

    def events(self, session_id):
        """The run's stored events, as (kind, data)."""
        answer = requests.get(f"{self.url}/api/pipeline/events/{session_id}?since=0", timeout=10)
        return [(item["event"], item["data"]) for item in answer.json()["events"]]

    def taken_by(self, session_id):
        """The names of the workers that took the run, in order (from its log lines)."""
        return [data["message"].rsplit(" ", 1)[-1] for kind, data in self.events(session_id)
                if kind == "log_stream" and data["message"].startswith("Run taken by worker")]

    def stop(self):
        for proc in [*self.workers, self.web]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.web]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Loopback media: `speech-x3.m4a` (about a minute of speech) and `speech-3min.m4a`."""
    folder = tmp_path_factory.mktemp("rq-media")
    looped_speech(folder, "speech-x3.m4a", 3)
    looped_speech(folder, "speech-3min.m4a", 8)
    server = MediaServer(folder)
    yield server
    server.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_server):  # noqa: F811 - the fixture above
    """A web server with `runner: rq`, `max_concurrent_runs: 2` and two workers."""
    made = Cluster(tmp_path_factory.mktemp("rq-cluster"), redis_server.url)
    yield made
    made.stop()


def unique_url(media, name):
    """A URL of `name` no other run used (a new query), so each run really downloads it."""
    return f"{media.url}/{name}.m4a?run={uuid.uuid4().hex[:8]}"
