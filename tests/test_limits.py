"""Media over the configured limits is refused (from metadata when the site gives its length,
else as soon as the file is probed) and nothing of it is kept."""
import uuid
from pathlib import Path

from tests.server_support import start_run, wait_state


def test_media_longer_than_the_limit_is_refused(live_server, speech_url, client, monkeypatch):
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["limits"], "max_duration_seconds", 10)
    episode = f"limit-{uuid.uuid4().hex[:6]}"
    session_id = start_run(live_server, speech_url + "?limit", [1, 2], episode_directory=episode)
    snapshot = wait_state(client, session_id)
    assert snapshot["state"] == "failed"
    assert "limits.max_duration_seconds" in snapshot["error"]
    folder = Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes" / episode
    assert not list(folder.glob("source.*"))
    assert not (folder / "audio.wav").exists()


def test_limit_check_names_the_setting():
    from services.download.limits import limit_error

    assert limit_error(None, None, 10, 1) is None
    assert limit_error(9.5, 1024, 10, 1) is None
    assert "max_duration_seconds" in limit_error(11, None, 10, 1)
    assert "max_size_mb" in limit_error(None, 2 * 1048576, 10, 1)


def test_media_larger_than_the_limit_stops_the_download(live_server, speech_url, client, monkeypatch):
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["limits"], "max_size_mb", 0.1)
    episode = f"size-{uuid.uuid4().hex[:6]}"
    session_id = start_run(live_server, speech_url + "?size", [1], episode_directory=episode)
    snapshot = wait_state(client, session_id)
    assert snapshot["state"] == "failed"
    assert "limits.max_size_mb" in snapshot["error"]
    folder = Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes" / episode
    assert [p.name for p in folder.iterdir()] == []
