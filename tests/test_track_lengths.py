"""Stage 1 compares audio.wav with the audio track's own length: a video whose picture runs on
after its sound ends is fine (the gap is a log note), audio-only media too, and a file with no
sound is refused with a clear message."""
import subprocess

import pytest

from services.media.ffmpeg import ffmpeg_path, probe
from tests.media_support import MediaServer
from tests.server_support import start_run, wait_state


def _make(folder, name, args):
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", *args,
                    str(folder / name)], check=True, timeout=60)
    return name


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tracks")
    # 12 s of picture, 5 s of sound: the container says 12 s, the audio track 5 s.
    _make(folder, "short-sound.mp4", ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=12",
                                      "-f", "lavfi", "-i", "sine=frequency=440:duration=5",
                                      "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-c:a", "aac"])
    _make(folder, "sound-only.m4a", ["-f", "lavfi", "-i", "sine=frequency=330:duration=6", "-c:a", "aac"])
    _make(folder, "no-sound.mp4", ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=4",
                                   "-c:v", "libx264"])
    server = MediaServer(folder)
    yield server, folder
    server.close()


def test_probe_tells_the_audio_track_from_the_container(media):
    _, folder = media
    found = probe(folder / "short-sound.mp4")
    assert found["duration"] > 11 and 4.5 < found["audio_duration"] < 5.5


def test_picture_longer_than_sound_is_not_a_failure(client, media):
    server, _ = media
    session_id = start_run(client, f"{server.url}/short-sound.mp4", [1])
    snapshot = wait_state(client, session_id)
    assert snapshot["state"] == "completed", snapshot["error"]
    assert 4.5 < snapshot["media_duration"] < 5.5
    logs = [e["data"]["message"] for e in client.get(f"/api/pipeline/events/{session_id}").get_json()["events"]
            if e["event"] == "log_stream"]
    assert any("audio track" in line and "the audio is what the pipeline uses" in line for line in logs)


def test_sound_only_and_no_sound(client, media):
    server, _ = media
    ok = start_run(client, f"{server.url}/sound-only.m4a", [1])
    assert wait_state(client, ok)["state"] == "completed"
    bad = start_run(client, f"{server.url}/no-sound.mp4", [1])
    snapshot = wait_state(client, bad)
    assert snapshot["state"] == "failed" and "no audio" in snapshot["error"]
