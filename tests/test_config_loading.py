"""Settings layering and a bad file (services/config/loading.py)."""
import pytest

from services.config.loading import ConfigError, environment_overrides, load_settings


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
