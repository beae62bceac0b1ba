"""One server per data folder: a second server refuses to start and leaves the first one's runs
alone; a headless `run.py process` beside the server keeps to its own run."""
import json
import sqlite3
import subprocess
import sys

import pytest

from services.hosting.data_lock import LOCK_NAME, FolderBusy, hold
from tests.media_support import three_minute_media as media  # noqa: F401 - a fixture
from tests.server_support import ROOT, free_port, start_run, start_server, wait_state


def _rows(database, sql, *args):
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, args).fetchall()


def _seqs(database, session_id):
    return [row[0] for row in _rows(database, "SELECT seq FROM event WHERE session_id = ? "
                                              "ORDER BY seq", session_id)]


def test_the_lock_names_its_holder_and_is_free_once_released(tmp_path):
    held = hold(tmp_path)
    try:
        note = json.loads((tmp_path / LOCK_NAME).read_text())
        assert note["pid"] > 0 and "started" in note and note["command"]
        with pytest.raises(FolderBusy) as refused:
            hold(tmp_path)   # another open file: flock refuses it even in this process
        assert f"pid {note['pid']}" in str(refused.value) and "\n" not in str(refused.value)
        assert json.loads((tmp_path / LOCK_NAME).read_text()) == note   # the note is kept
    finally:
        held.close()
    hold(tmp_path).close()


def test_a_second_server_leaves_the_first_alone_and_a_headless_run_keeps_to_its_own(
        tmp_path, media):
    data_dir = tmp_path / "data"
    log_path = tmp_path / "server.log"
    first, url = start_server(data_dir, log_path)
    database = data_dir / "pipeline.db"
    second = None
    try:
        session_id = start_run(url, f"{media.url}/speech-3min.m4a", [1, 2])
        wait_state(url, session_id, ("running",), timeout=30)

        second = subprocess.Popen([sys.executable, "run.py", "--port", str(free_port()),
                                   "--data-dir", str(data_dir)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = second.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            pytest.fail("a second server on the same data folder kept running")
        assert second.returncode != 0
        lines = output.strip().splitlines()
        assert len(lines) == 1 and f"pid {first.pid}" in lines[0], output
        assert str(data_dir) in lines[0]
        assert _rows(database, "SELECT state FROM run WHERE session_id = ?", session_id) == [("running",)]

        # A headless run beside the live server: its own run, its own seq, no recovery.
        headless = subprocess.run(
            [sys.executable, "run.py", "--data-dir", str(data_dir), "process",
             f"{media.url}/speech.mp4", "--stages", "1", "--episode", "headless"],
            cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert headless.returncode == 0, headless.stderr[-2000:]
        assert _rows(database, "SELECT state FROM run WHERE session_id = ?", session_id) == [("running",)]
        runs = dict(_rows(database, "SELECT session_id, state FROM run"))
        assert len(runs) == 2
        headless_id = next(key for key in runs if key != session_id)
        assert runs[headless_id] == "completed"

        final = wait_state(url, session_id, ("completed", "failed", "interrupted"), timeout=300)
        assert final["state"] == "completed", final["error"]
    finally:
        first.terminate()
        first.wait(10)
    for run_id in (session_id, headless_id):
        seqs = _seqs(database, run_id)
        assert seqs and seqs == list(range(1, len(seqs) + 1)), run_id
    kinds = _rows(database, "SELECT kind, payload FROM event WHERE session_id = ? ORDER BY seq",
                  session_id)
    assert not [payload for kind, payload in kinds if "Interrupted" in payload]
    assert kinds[-1][0] == "pipeline_completion"
    assert "Run completed" in headless.stderr
