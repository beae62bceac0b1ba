"""The configuration is checked at start: one schema per section, unknown keys refused."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services import presets
from services.config import ConfigError, load_settings
from services.config.loading import DEFAULT_CONFIG_FILE, DEFAULTS
from services.config.lookup import bounds, field_at, model_in
from services.config.schema import PresetEntry, Settings

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = sorted(key for key, value in DEFAULTS.items() if isinstance(value, dict))


def _config(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path=None, environ=None, overrides=None):
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={} if environ is None else environ, overrides=overrides)
    return str(caught.value)


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_refuses_an_unknown_key_by_name(tmp_path, section):
    path = _config(tmp_path, f"{section}:\n  no_such_key: 1\n")
    message = _refused(path)
    assert message == f"{path}: {section}.no_such_key: unknown setting"


def test_a_misspelt_key_is_named_with_the_likely_one(tmp_path):
    path = _config(tmp_path, "whisper:\n  beem_size: 3\n")
    assert _refused(path) == f"{path}: whisper.beem_size: unknown setting (did you mean beam_size?)"
    path = _config(tmp_path, "loudnes:\n  integrated_lufs: -16\n")
    assert _refused(path) == f"{path}: loudnes: unknown setting (did you mean loudness?)"


@pytest.mark.parametrize("text, key, reason", [
    ("loudness:\n  integrated_lufs: -3\n", "loudness.integrated_lufs",
     "must be between -30 and -10 (got -3)"),
    ("loudness:\n  true_peak_dbtp: 1\n", "loudness.true_peak_dbtp",
     "must be between -9 and 0 (got 1)"),
    ("whisper:\n  beam_size: 0\n", "whisper.beam_size", "must be between 1 and 10 (got 0)"),
    ("server:\n  port: 70000\n", "server.port", "must be between 1 and 65535 (got 70000)"),
    ("runner: x\n", "runner", "must be one of thread, rq (got 'x')"),
    ("production:\n  format: wav\n", "production.format", "must be one of m4a, mp3 (got 'wav')"),
    ("production:\n  episode_mode: best\n", "production.episode_mode",
     "must be one of full, highlights (got 'best')"),
    ("segments:\n  count: three\n", "segments.count", "must be a whole number (got 'three')"),
    ("loudness:\n  integrated_lufs: loud\n", "loudness.integrated_lufs",
     "must be a number (got 'loud')"),
    ("whisper:\n  vad_filter: sometimes\n", "whisper.vad_filter",
     "must be true or false (got 'sometimes')"),
    ("max_concurrent_runs: 0\n", "max_concurrent_runs", "must be at least 1 (got 0)"),
    ("logging:\n  level: LOUD\n", "logging.level", "must be one of"),
    ("batches:\n  max_entries: 0\n", "batches.max_entries", "must be between 1 and 10000 (got 0)"),
    ("whisper: 5\n", "whisper", "must be a mapping of settings (got 5)"),
    ("segments:\n  min_seconds: 90\n", "segments", "max_seconds must be longer than min_seconds"),
    ("download:\n  retries: -1\n", "download.retries", "must be between 0 and 100 (got -1)"),
    ("download:\n  proxy: ftp://host:21\n", "download.proxy",
     "must be a URL with one of the schemes"),
    ("presets:\n  - name: Mine\n    stages: [1]\n    beam_sise: 3\n", "presets.0.beam_sise",
     "unknown setting (did you mean beam_size?)"),
    ("presets:\n  - name: Mine\n    stages: [9]\n", "presets.0.stages", "There is no stage 9"),
])
def test_bad_values_are_refused_with_file_key_and_reason(tmp_path, text, key, reason):
    path = _config(tmp_path, text)
    message = _refused(path)
    assert message.startswith(f"{path}: {key}: {reason}"), message


def test_every_problem_is_listed_and_secrets_are_not_repeated(tmp_path):
    path = _config(tmp_path, "llm:\n  api_key: [s3cret]\n  url: ftp://me:s3cret@host\n"
                             "whisper:\n  beam_size: 11\n")
    message = _refused(path)
    assert message.splitlines() == [
        f"{path}: whisper.beam_size: must be between 1 and 10 (got 11)",
        f"{path}: llm.url: must be an http:// or https:// URL such as http://127.0.0.1:8080/v1",
        f"{path}: llm.api_key: must be text (a single value, in quotes)"]
    assert "s3cret" not in message


def test_the_shipped_config_loads_unchanged():
    written = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text(encoding="utf-8"))
    settings = load_settings(DEFAULT_CONFIG_FILE, environ={})
    for section in ("whisper", "limits", "analysis", "segments", "llm", "production", "loudness",
                    "logging", "batches", "feed"):
        assert settings[section] == written[section], section
    assert settings["presets"] == written["presets"]
    assert type(settings["segments"]["min_seconds"]) is int   # 15 as written, not 15.0


def test_environment_variables_still_override_and_are_named(tmp_path):
    path = _config(tmp_path, "whisper:\n  beam_size: 3\n")
    settings = load_settings(path, environ={"PIPELINE_WHISPER_BEAM_SIZE": "7",
                                            "PIPELINE_LOUDNESS_INTEGRATED_LUFS": "-20",
                                            "PIPELINE_RUNNER": "RQ",
                                            "PIPELINE_REDIS_URL": "redis://127.0.0.1:6379/1"})
    assert settings["whisper"]["beam_size"] == 7
    assert settings["loudness"]["integrated_lufs"] == -20
    assert settings["runner"] == "rq"
    message = _refused(path, environ={"PIPELINE_WHISPER_BEAM_SIZE": "0"})
    assert message == ("environment variable PIPELINE_WHISPER_BEAM_SIZE: whisper.beam_size: "
                       "must be between 1 and 10 (got 0)")
    message = _refused(path, environ={"PIPELINE_WHISPER_BEEM_SIZE": "3"})
    assert message.startswith("environment variable PIPELINE_WHISPER_BEEM_SIZE: "
                              "whisper.beem_size: unknown setting")


def test_overrides_are_named_as_the_source(tmp_path):
    message = _refused(overrides={"data_dir": str(tmp_path), "production": {"format": "wav"}})
    assert message == "overrides: production.format: must be one of m4a, mp3 (got 'wav')"


def test_none_stays_none_and_numbers_keep_their_type(tmp_path):
    path = _config(tmp_path, "llm:\n  timeout: null\nanalysis:\n  min_chapter_seconds: 30\n"
                             "whisper:\n  language: null\n  cpu_threads: null\n")
    settings = load_settings(path, environ={})
    assert settings["llm"]["timeout"] is None and settings["whisper"]["language"] is None
    assert settings["whisper"]["cpu_threads"] is None
    assert type(settings["analysis"]["min_chapter_seconds"]) is int
    assert "enabled" not in settings["llm"]


def test_values_the_code_took_before_are_still_taken(tmp_path):
    path = _config(tmp_path, "server:\n  port: '5001'\n  auth_token: 12345\n"
                             "max_concurrent_runs: '2'\nrunner: ' Thread '\nredis_url: ''\n"
                             "logging:\n  level: debug\nllm:\n  enabled: false\n")
    settings = load_settings(path, environ={})
    assert settings["server"]["port"] == 5001 and settings["server"]["auth_token"] == "12345"
    assert settings["max_concurrent_runs"] == 2 and settings["runner"] == "thread"
    assert settings["redis_url"] is None


def test_every_default_fits_the_schema_and_every_field_has_a_default():
    for section in SECTIONS:
        fields = set(model_in(field_at((section,)).annotation).model_fields)
        assert fields - {"enabled"} == set(DEFAULTS[section]), section
    assert set(Settings.model_fields) == set(DEFAULTS)
    load_settings(environ={}, overrides={"data_dir": "/tmp/unused"})


def test_preset_bounds_and_fields_come_from_the_schema():
    for field in presets.FIELDS:
        if field.kind in ("int", "float"):
            assert (field.low, field.high) == bounds(*field.path), field.name
    assert bounds("loudness", "integrated_lufs") == (-30, -10)
    assert bounds("whisper", "beam_size") == (1, 10)
    assert set(PresetEntry.model_fields) == {field.name for field in presets.FIELDS} | {
        "name", "description", presets.STAGES_FIELD}


def test_run_py_refuses_a_bad_config_and_says_why(tmp_path):
    bad = _config(tmp_path, "loudness:\n  integrated_lufs: -3\n")
    result = subprocess.run([sys.executable, "run.py", "--config", str(bad), "--data-dir",
                             str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert f"{bad}: loudness.integrated_lufs: must be between -30 and -10 (got -3)" in result.stderr
    assert "Traceback" not in result.stderr
