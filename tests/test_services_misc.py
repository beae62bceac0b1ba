"""Validation helpers, checkpoints, subtitles, config, ffmpeg cancel and the log handler."""
import logging
import os
import threading
import time

import pytest

from services.engine.cancel import Cancelled, CancelToken
from services.engine.checkpoints import Checkpoints, list_files, remove_new_files
from services.media.ffmpeg import MediaError, probe, run_ffmpeg
from services.engine.run_logs import bound_to_run, current_run, start_thread
from services.media.subtitles import to_srt, to_text, to_vtt
from services.input_checks import ValidationError
from services.run_request import default_episode_name, episode_directory
from services.stages import parse_stages
from services.config.loading import ConfigError, environment_overrides, load_settings
from orchestration.log_stream import RunLogHandler


def test_parse_stages_accepts_lists_and_text():
    assert parse_stages([2, 1, 1]) == [1, 2]
    assert parse_stages("1, 2") == [1, 2]
    assert parse_stages(["1"]) == [1]
    with pytest.raises(ValidationError):
        parse_stages("1,x")


def test_default_episode_name_is_stable_and_safe():
    name = default_episode_name("https://www.youtube.com/watch?v=abc")
    assert name == default_episode_name("https://www.youtube.com/watch?v=abc")
    assert name != default_episode_name("https://www.youtube.com/watch?v=abd")
    assert "/" not in name and ".." not in name


def test_episode_directory_refuses_a_symlink_escape(tmp_path):
    root = tmp_path / "episodes"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValidationError) as caught:
        episode_directory(root, "link", "http://x/y")
    assert caught.value.code == "path_traversal"
    name, folder = episode_directory(root, "show/episode 1", "http://x/y")
    assert folder == root.resolve() / "show" / "episode 1"


def test_checkpoints_reuse_only_with_same_parameters_and_files(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    checkpoints = Checkpoints(tmp_path)
    checkpoints.record("stage", {"p": 1}, ["a.txt"])
    assert checkpoints.reusable("stage", {"p": 1}) == ["a.txt"]
    assert checkpoints.reusable("stage", {"p": 2}) is None
    (tmp_path / "a.txt").unlink()
    assert checkpoints.reusable("stage", {"p": 1}) is None
    checkpoints.forget("stage")
    assert checkpoints.reusable("stage", {"p": 1}) is None


def test_remove_new_files_keeps_what_was_there(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    before = list_files(tmp_path)
    (tmp_path / "new.txt").write_text("y")
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "01.m4a").write_text("z")
    remove_new_files(tmp_path, before)
    assert list_files(tmp_path) == {"old.txt"}
    assert not (tmp_path / "clips").exists()


SEGMENTS = [{"start": 0.0, "end": 2.5, "text": " Hello there."},
            {"start": 3661.25, "end": 3662.0, "text": "Later."}]


def test_subtitle_formats():
    assert to_srt(SEGMENTS) == ("1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n"
                                "2\n01:01:01,250 --> 01:01:02,000\nLater.\n")
    assert to_vtt(SEGMENTS).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n")
    assert to_text(SEGMENTS) == "Hello there.\nLater.\n"


def test_settings_layering(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("data_dir: here\nwhisper:\n  beam_size: 3\n")
    settings = load_settings(config, environ={"PIPELINE_WHISPER_BEAM_SIZE": "5",
                                              "PIPELINE_MAX_CONCURRENT_RUNS": "2"},
                             overrides={"server": {"port": 6000}})
    assert settings["whisper"]["beam_size"] == 5
    assert settings["whisper"]["model"] == "bundled"
    assert settings["max_concurrent_runs"] == 2
    assert settings["server"] == {"host": "127.0.0.1", "port": 6000, "auth_token": None,
                                  "allowed_hosts": []}
    assert settings["data_dir"] == str((tmp_path / "here").resolve())
    assert environment_overrides({"PIPELINE_SOCKETIO_MESSAGE_QUEUE": "redis://x"}) == {
        "socketio": {"message_queue": "redis://x"}}


def test_bad_config_file_is_a_clear_error(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("- a list\n")
    with pytest.raises(ConfigError):
        load_settings(config, environ={})
    with pytest.raises(ConfigError):
        load_settings(tmp_path / "missing.yaml", environ={})


def test_ffmpeg_converts_with_time_progress(tmp_path):
    seen = []
    out = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-ar", "16000", str(out)],
               CancelToken(), 3.0, seen.append)
    assert probe(out)["streams"] == ["audio"]
    assert 2.9 < probe(out)["duration"] < 3.1
    assert seen and seen == sorted(seen) and seen[-1] <= 3.0


def test_ffmpeg_cancel_ends_the_process_group_quickly(tmp_path):
    token = CancelToken()
    started = []

    def on_progress(seconds):
        started.append(seconds)

    threading.Timer(1.0, token.cancel).start()
    begin = time.monotonic()
    with pytest.raises(Cancelled):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "sine=duration=60", str(tmp_path / "long.wav")],
                   token, 60.0, on_progress)
    assert time.monotonic() - begin < 2.0
    assert started
    # no ffmpeg child of this process is left
    children = [line for line in os.popen(f"ps -o pid=,comm= --ppid {os.getpid()}").read().splitlines()
                if "ffmpeg" in line]
    assert children == []


def test_ffmpeg_failure_is_a_media_error(tmp_path):
    with pytest.raises(MediaError):
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "x.wav")], CancelToken())
    with pytest.raises(MediaError):
        probe(tmp_path / "missing.mp4")


def test_log_handler_streams_only_records_of_bound_threads():
    got = []

    class Recorder:
        def emit_log(self, session_id, payload):
            got.append((session_id, "log_stream", payload))

    handler = RunLogHandler(logging.INFO)
    handler.route("run-1", Recorder())
    logger = logging.getLogger("pipeline.test")
    record = logger.makeRecord("pipeline.test", logging.INFO, __file__, 1, "hello %s", ("<b>",), None)
    handler.handle(record)
    assert got == []
    with bound_to_run("run-1"):
        assert current_run() == "run-1"
        handler.handle(record)
        start_thread(lambda: handler.handle(record)).join()
    assert current_run() is None
    assert got == [("run-1", "log_stream", {"level": "INFO", "message": "hello <b>",
                                            "logger": "pipeline.test"})] * 2
