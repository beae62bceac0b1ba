"""Settings: built-in defaults, then config.yaml, then environment variables, then test overrides."""
import copy
import os
import re
from pathlib import Path

import yaml

from services.config.messages import problems
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
    "whisper": {"model": "bundled", "models_dir": "models", "device": "cpu",
                "compute_type": "int8", "cpu_threads": 0, "beam_size": 5, "language": None,
                "condition_on_previous_text": True, "vad_filter": False,
                "temperature_fallback": True, "word_timestamps": True,
                "prefer_creator_subtitles": False},
    "limits": {"max_duration_seconds": 14400, "max_size_mb": 4096, "max_asset_mb": 200,
               "max_queued_runs": 100,
               "block_private_networks": False},
    "download": {"format": "bestaudio/best", "cookies_file": "cookies.txt", "proxy": None,
                 "rate_limit": None, "retries": 10, "fragment_retries": 10,
                 "retry_sleep_initial": 1.0, "retry_sleep_max": 30.0, "socket_timeout": 30,
                 "player_client": None, "js_runtime": None, "verbose": False},
    "analysis": {"vectors": "wordllama", "min_chapter_seconds": 30, "max_chapter_seconds": 900,
                 "window_seconds": 20},
    "segments": {"count": 3, "min_seconds": 15.0, "max_seconds": 60.0, "min_gap_seconds": 5.0,
                 "padding_seconds": 0.3, "review": False},
    "llm": {"url": None, "model": None, "api_key": None, "timeout": 30},
    "production": {"episode_mode": "full", "max_pause_seconds": 1.5, "pause_keep_seconds": 0.75,
                   "format": "m4a", "bitrate": "128k", "clip_fade_seconds": 0.05,
                   "crossfade_seconds": 0.4, "leveling": True, "intro": None, "outro": None,
                   "music_bed": None, "music_level_db": -20.0, "music_fade_seconds": 2.0,
                   "cover": None},
    "loudness": {"integrated_lufs": -16.0, "true_peak_dbtp": -1.5},
    "logging": {"level": "INFO"},
    "batches": {"max_entries": 50},
    "presets": [],
    "socketio": {"async_mode": "threading", "message_queue": None},
    "feed": {"title": "YouTube Pipeline episodes",
             "description": "Episodes produced by the YouTube Pipeline.",
             "author": "YouTube Pipeline", "owner_name": None, "owner_email": None,
             "language": "en", "category": "Technology", "image": None, "explicit": False,
             "locked": True, "public_url": None, "token": None, "pub_date": "published"},
}
ENV_PREFIX = "PIPELINE_"
OVERRIDES = "overrides"


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


def _environment_items(environ, defaults=DEFAULTS):
    """(path, variable name, value) of each PIPELINE_* variable that names a setting."""
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key in defaults and not isinstance(defaults[key], dict):
            yield (key,), name, _parse_scalar(text)
            continue
        for section, values in defaults.items():
            if isinstance(values, dict) and key.startswith(section + "_"):
                yield (section, key[len(section) + 1:]), name, _parse_scalar(text)
                break


def environment_overrides(environ, defaults=DEFAULTS):
    """Settings named by PIPELINE_* variables, e.g. PIPELINE_WHISPER_MODEL -> whisper.model."""
    overrides = {}
    for path, _, value in _environment_items(environ, defaults):
        if len(path) == 1:
            overrides[path[0]] = value
        else:
            overrides.setdefault(path[0], {})[path[1]] = value
    return overrides


def _token_text(value):
    """The access token as text: YAML reads `auth_token: 12345` as a number."""
    if value is None or value == "":
        return None
    return str(value) if isinstance(value, (int, float)) else value


def _check_runner(settings):
    """`runner` is thread or rq; rq needs `redis_url`, which also carries Socket.IO's events."""
    runner = str(settings.get("runner") or "thread").strip().lower()
    settings["runner"] = runner
    url = settings.get("redis_url") or None
    settings["redis_url"] = url
    if runner == "rq":
        if url is None:
            raise ConfigError("runner: rq needs redis_url (PIPELINE_REDIS_URL), e.g. "
                              "redis://127.0.0.1:6379/0.")
        if not settings["socketio"].get("message_queue"):
            settings["socketio"]["message_queue"] = url


def _holds(values, loc):
    """Whether `values` (a layer of settings) sets the value at `loc`."""
    for part in loc:
        if isinstance(values, dict) and part in values:
            values = values[part]
        elif isinstance(values, list) and isinstance(part, int) and 0 <= part < len(values):
            values = values[part]
        else:
            return False
    return True


def _source(loc, layers):
    """Who set the value at `loc`: the last layer holding it (a file, a variable, overrides)."""
    for name, values in reversed(layers):
        if callable(name):
            name = name(loc)
        if name and _holds(values, loc):
            return name
    return "built-in defaults"


def _dotted(loc):
    """("presets", 0, "name") as presets.0.name."""
    return ".".join(str(part) for part in loc) or "settings"


def _check(settings, layers):
    """ConfigError naming the source, the dotted key and the reason of each bad setting."""
    found = problems(settings)
    if found:
        raise ConfigError("\n".join(f"{_source(loc, layers)}: {_dotted(loc)}: {reason}"
                                     for loc, reason in found))


def _read_file(path, given):
    """The mapping in the configuration file; {} when the default file is absent."""
    if not path.is_file():
        if given:
            raise ConfigError(f"Configuration file {path} does not exist.")
        return {}
    try:
        from_file = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(from_file, dict):
        raise ConfigError(f"{path} must hold a mapping of settings.")
    return from_file


def _layers(path, from_file, environ, overrides):
    """[(source, settings)] from the lowest precedence to the highest; the environment's
    source is a function naming the variable that set a location."""
    environ = os.environ if environ is None else environ
    names = {loc: f"environment variable {name}" for loc, name, _ in _environment_items(environ)}

    def variable(loc):
        return next((names[loc[:size]] for size in (2, 1) if loc[:size] in names), None)

    return [(str(path), from_file), (variable, environment_overrides(environ)),
            (OVERRIDES, overrides or {})]


def _check_download(settings, layers):
    """The `download` section through check_settings, its message naming the source."""
    try:
        settings["download"] = check_settings(settings["download"], settings["data_dir"])
    except DownloadSettingsError as exc:
        match = re.match(r"download\.(\w+) (.*)", str(exc), re.DOTALL)
        if match is None:
            raise ConfigError(str(exc)) from exc
        loc = ("download", match.group(1))
        raise ConfigError(f"{_source(loc, layers)}: download.{match.group(1)}: "
                          f"{match.group(2)}") from exc


def load_settings(config_file=None, environ=None, overrides=None):
    """The effective settings as a plain dict, checked against the schema; `data_dir` is made
    absolute. ConfigError names the file (or variable), the dotted key and the reason."""
    path = Path(config_file) if config_file else DEFAULT_CONFIG_FILE
    layers = _layers(path, _read_file(path, bool(config_file)), environ, overrides)
    settings = DEFAULTS
    for _, values in layers:
        settings = merge(settings, values)
    _check(settings, layers)
    try:
        data_dir = Path(str(settings["data_dir"])).expanduser()
    except RuntimeError as exc:
        raise ConfigError(f"{_source(('data_dir',), layers)}: data_dir: {exc} "
                          f"(got {str(settings['data_dir'])[:80]!r})") from exc
    if not data_dir.is_absolute():
        data_dir = (path.parent if path.is_file() else PROJECT_ROOT) / data_dir
    settings["data_dir"] = str(data_dir.resolve())
    settings["max_concurrent_runs"] = max(1, int(settings["max_concurrent_runs"]))
    settings["server"]["port"] = int(settings["server"]["port"])
    settings["server"]["auth_token"] = _token_text(settings["server"].get("auth_token"))
    _check_runner(settings)
    _check_download(settings, layers)
    return settings
