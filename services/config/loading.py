"""Settings: built-in defaults, then config.yaml, then environment variables, then test overrides."""
import copy
import os
from pathlib import Path

import yaml

from services.download.options import DownloadSettingsError, check_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config.yaml"

DEFAULTS = {
    "server": {"host": "127.0.0.1", "port": 5000, "auth_token": None, "allowed_hosts": []},
    "data_dir": "data",
    "database_url": "",
    "max_concurrent_runs": 1,
    "runner": "thread",
    "redis_url": None,
    "whisper": {"model": "bundled", "device": "cpu", "compute_type": "int8", "cpu_threads": 0,
                "beam_size": 5, "language": None, "condition_on_previous_text": True,
                "vad_filter": False, "temperature_fallback": True, "word_timestamps": True,
                "prefer_creator_subtitles": False},
    "limits": {"max_duration_seconds": 14400, "max_size_mb": 4096, "max_asset_mb": 200,
               "max_queued_runs": 100,
               "block_private_networks": False},
    "download": {"format": "bestaudio/best", "cookies_file": "cookies.txt", "proxy": None,
                 "rate_limit": None, "retries": 10, "fragment_retries": 10,
                 "retry_sleep_initial": 1.0, "retry_sleep_max": 30.0, "socket_timeout": 30,
                 "player_client": None, "js_runtime": None, "verbose": False},
    "analysis": {"vectors": "tfidf", "min_chapter_seconds": 30, "max_chapter_seconds": 900,
                 "window_seconds": 20},
    "segments": {"count": 3, "min_seconds": 15.0, "max_seconds": 60.0, "min_gap_seconds": 5.0,
                 "padding_seconds": 0.3, "review": False},
    "llm": {"url": None, "model": None, "api_key": None, "timeout": 30},
    "production": {"episode_mode": "full", "max_pause_seconds": 1.5, "pause_keep_seconds": 0.75,
                   "format": "m4a", "bitrate": "128k", "clip_fade_seconds": 0.05,
                   "crossfade_seconds": 0.4, "leveling": True, "intro": None, "outro": None,
                   "music_bed": None, "music_level_db": -20.0, "music_fade_seconds": 2.0},
    "loudness": {"integrated_lufs": -16.0, "true_peak_dbtp": -1.5},
    "logging": {"level": "INFO"},
    "batches": {"max_entries": 50},
    "presets": [],
    "socketio": {"async_mode": "threading", "message_queue": None},
    "feed": {"title": "YouTube Pipeline episodes",
             "description": "Episodes produced by the YouTube Pipeline.",
             "author": "YouTube Pipeline", "language": "en", "category": "Technology",
             "image": None, "explicit": False},
}
ENV_PREFIX = "PIPELINE_"
RUNNERS = ("thread", "rq")
MAX_BATCH = 10_000   # entries of one batch (playlist, channel, feed or URL list)


class ConfigError(Exception):
    """The configuration file or an override cannot be used; the message says which."""


def merge(base, override):
    """A deep copy of `base` with `override`'s keys laid over it (dicts merged)."""
    result = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _parse_scalar(text):
    value = yaml.safe_load(text) if text.strip() else ""
    return value if isinstance(value, (str, int, float, bool)) or value is None else text


def environment_overrides(environ, defaults=DEFAULTS):
    """Settings named by PIPELINE_* variables, e.g. PIPELINE_WHISPER_MODEL -> whisper.model."""
    overrides = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key in defaults and not isinstance(defaults[key], dict):
            overrides[key] = _parse_scalar(text)
            continue
        for section, values in defaults.items():
            if isinstance(values, dict) and key.startswith(section + "_"):
                overrides.setdefault(section, {})[key[len(section) + 1:]] = _parse_scalar(text)
                break
    return overrides


def _auth_token(value):
    """The access token as text: YAML reads `auth_token: 12345` as a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ConfigError("server.auth_token must be text, not true or false; put the token in "
                          "quotes, e.g. auth_token: \"my-token\".")
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ConfigError("server.auth_token must be text (a single value, in quotes).")
    return value


def _check_runner(settings):
    """`runner` is thread or rq; rq needs `redis_url`, which also carries Socket.IO's events."""
    runner = str(settings.get("runner") or "thread").strip().lower()
    if runner not in RUNNERS:
        raise ConfigError(f"runner must be one of {', '.join(RUNNERS)}, not {str(runner)[:40]!r}.")
    settings["runner"] = runner
    url = settings.get("redis_url") or None
    if url is not None and (not isinstance(url, str)
                            or not url.startswith(("redis://", "rediss://", "unix://"))):
        raise ConfigError("redis_url must be a Redis URL such as redis://127.0.0.1:6379/0.")
    settings["redis_url"] = url
    if runner == "rq":
        if url is None:
            raise ConfigError("runner: rq needs redis_url (PIPELINE_REDIS_URL), e.g. "
                              "redis://127.0.0.1:6379/0.")
        if not settings["socketio"].get("message_queue"):
            settings["socketio"]["message_queue"] = url


def load_settings(config_file=None, environ=None, overrides=None):
    """The effective settings as a plain dict; `data_dir` is made absolute."""
    path = Path(config_file) if config_file else DEFAULT_CONFIG_FILE
    from_file = {}
    if path.is_file():
        try:
            from_file = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(from_file, dict):
            raise ConfigError(f"{path} must hold a mapping of settings.")
    elif config_file:
        raise ConfigError(f"Configuration file {path} does not exist.")
    settings = merge(DEFAULTS, from_file)
    settings = merge(settings, environment_overrides(os.environ if environ is None else environ))
    settings = merge(settings, overrides or {})
    try:
        data_dir = Path(str(settings["data_dir"])).expanduser()
    except RuntimeError as exc:
        raise ConfigError(f"data_dir {str(settings['data_dir'])[:80]!r}: {exc}") from exc
    if not data_dir.is_absolute():
        data_dir = (path.parent if path.is_file() else PROJECT_ROOT) / data_dir
    settings["data_dir"] = str(data_dir.resolve())
    try:
        settings["max_concurrent_runs"] = max(1, int(settings["max_concurrent_runs"]))
        settings["server"]["port"] = int(settings["server"]["port"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"A numeric setting is not a number: {exc}") from exc
    settings["server"]["auth_token"] = _auth_token(settings["server"].get("auth_token"))
    entries = settings["batches"].get("max_entries")
    if isinstance(entries, bool) or not isinstance(entries, int) or not 1 <= entries <= MAX_BATCH:
        raise ConfigError(f"batches.max_entries must be a whole number from 1 to {MAX_BATCH}.")
    _check_runner(settings)
    try:
        settings["download"] = check_settings(settings["download"], settings["data_dir"])
    except DownloadSettingsError as exc:
        raise ConfigError(str(exc)) from exc
    return settings
