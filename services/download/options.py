"""The yt-dlp options every download uses, from the `download` settings.

YouTube needs a JavaScript runtime and the EJS challenge-solver scripts. Deno comes from the
`deno` package and its path is passed explicitly (the server may run without the virtual
environment's bin folder on PATH); the EJS scripts come from the `yt-dlp-ejs` package and
remote components stay off, so nothing is fetched at run time.
"""
import math
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_FORMAT = "bestaudio/best"
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
PLAYER_CLIENT = re.compile(r"^-?[a-z][a-z0-9_]{0,40}$")
MAX_RETRIES = 100
MAX_SLEEP = 3600


class DownloadSettingsError(ValueError):
    """A `download` setting cannot be used; the message names it and says why."""


def deno_path(configured=None):
    """The Deno binary to run: the configured path, the one from the `deno` package, or PATH's."""
    if configured:
        path = Path(str(configured))
        try:
            path = path.expanduser()
        except RuntimeError:  # "~name" of a user this machine does not know
            pass
        return str(path / "deno") if path.is_dir() else str(path)
    try:
        from deno import find_deno_bin

        return find_deno_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("deno")


def parse_rate_limit(value):
    """Bytes a second from 2500000, "2.5M" or "500K"; None for no limit."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise DownloadSettingsError("download.rate_limit must be a number of bytes a second "
                                    "or a size like 2M or 500K.")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = re.fullmatch(r"\s*([0-9]{1,12}(?:\.[0-9]{1,6})?)\s*([kmgt]?)i?b?\s*", str(value),
                             re.IGNORECASE | re.ASCII)
        if not match:
            raise DownloadSettingsError(f"download.rate_limit {str(value)[:40]!r} is not a size "
                                        "like 2M or 500K.")
        number = float(match.group(1)) * 1024 ** " kmgt".index(match.group(2).lower() or " ")
    if not math.isfinite(number) or number < 1024 or number > 1024 ** 4:
        raise DownloadSettingsError("download.rate_limit must be between 1K and 1T bytes a second.")
    return int(number)


def _integer(section, key, low, high):
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            low <= value <= high) or int(value) != value:
        raise DownloadSettingsError(f"download.{key} must be a whole number from {low} to {high}.")
    return int(value)


def _seconds(section, key):
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and 0 <= value <= MAX_SLEEP):
        raise DownloadSettingsError(f"download.{key} must be a number of seconds from 0 to {MAX_SLEEP}.")
    return float(value)


def _player_clients(value):
    if value in (None, "", []):
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise DownloadSettingsError("download.player_client must be a name or a list of names, "
                                    "e.g. default,mweb.")
    clients = [item.strip() for item in items if item.strip()]
    bad = [item for item in clients if not PLAYER_CLIENT.match(item)]
    if bad or not clients or len(clients) > 10:
        raise DownloadSettingsError(f"download.player_client has a name yt-dlp does not take: "
                                    f"{(bad or [''])[0][:40]!r}.")
    return clients


def _proxy(value):
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise DownloadSettingsError("download.proxy must be a URL such as socks5://host:1080.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        raise DownloadSettingsError("download.proxy must be a URL with one of the schemes "
                                    f"{', '.join(PROXY_SCHEMES)} and a host.")
    return value


def cookies_path(section, data_dir):
    """The configured cookies file (inside the data folder) or None when none is set."""
    name = section.get("cookies_file")
    if name in (None, ""):
        return None
    if not isinstance(name, str) or "\x00" in name:
        raise DownloadSettingsError("download.cookies_file must be a file name in the data folder.")
    root = Path(data_dir).resolve()
    path = (root / name).resolve()  # a name inside the data folder: "~" is not expanded
    if root not in path.parents:
        raise DownloadSettingsError("download.cookies_file must be inside the data folder "
                                    "(give a name such as cookies.txt).")
    return path


def check_settings(section, data_dir):
    """The `download` section, checked and normalised; DownloadSettingsError when unusable."""
    if not isinstance(section, dict):
        raise DownloadSettingsError("download must be a mapping of settings.")
    result = dict(section)
    text = section.get("format")
    if not isinstance(text, str) or not text.strip() or len(text) > 300:
        raise DownloadSettingsError("download.format must be a yt-dlp format selector such as "
                                    "bestaudio/best.")
    cookies_path(section, data_dir)
    result["proxy"] = _proxy(section.get("proxy"))
    result["rate_limit"] = parse_rate_limit(section.get("rate_limit"))
    for key in ("retries", "fragment_retries"):
        result[key] = _integer(section, key, 0, MAX_RETRIES)
    result["socket_timeout"] = _integer(section, "socket_timeout", 1, 600)
    for key in ("retry_sleep_initial", "retry_sleep_max"):
        result[key] = _seconds(section, key)
    result["player_client"] = _player_clients(section.get("player_client"))
    runtime = section.get("js_runtime")
    if runtime not in (None, "") and not isinstance(runtime, str):
        raise DownloadSettingsError("download.js_runtime must be the path of a deno binary.")
    result["js_runtime"] = runtime or None
    result["verbose"] = bool(section.get("verbose"))
    return result


def backoff(initial, maximum):
    """yt-dlp's retry sleep: initial, twice that, four times … capped at maximum (seconds)."""
    def sleep(n):
        return min(initial * 2 ** min(n, 30), maximum)

    return sleep


def redacted_proxy(proxy):
    """The proxy URL without a user name or password, for display."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def ytdlp_options(section, data_dir, cookiefile=None):
    """The yt-dlp parameters for `section` (checked with check_settings).

    `cookiefile` is the path yt-dlp should read cookies from (a private copy of the configured
    file, since yt-dlp writes cookies back when it ends).
    """
    section = check_settings(section, data_dir)
    deno = deno_path(section["js_runtime"])
    sleep = backoff(section["retry_sleep_initial"], section["retry_sleep_max"])
    options = {
        "format": section["format"],
        "js_runtimes": {"deno": {"path": deno} if deno else {}},
        "remote_components": [],
        "noplaylist": True,
        "cachedir": False,
        # yt-dlp's own downloaders only: an external one (ffmpeg for HLS) would fetch outside
        # the address checks of services/download/guard.py.
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "socket_timeout": section["socket_timeout"],
        "retries": section["retries"],
        "fragment_retries": section["fragment_retries"],
        "extractor_retries": min(section["retries"], 3),
        "retry_sleep_functions": {"http": sleep, "fragment": sleep, "extractor": sleep},
    }
    if section["proxy"]:
        options["proxy"] = section["proxy"]
    if section["rate_limit"]:
        options["ratelimit"] = section["rate_limit"]
    if section["player_client"]:
        options["extractor_args"] = {"youtube": {"player_client": section["player_client"]}}
    if cookiefile:
        options["cookiefile"] = os.fspath(cookiefile)
    if section["verbose"]:
        options["verbose"] = True
    return options


# --- the uploader's own subtitles -------------------------------------------------------------

NOT_SUBTITLES = ("live_chat",)  # yt-dlp lists a stream's chat replay among its subtitles
# Codes such as en, en-GB, zh-Hans, es-419; a code from a web page that is not one is skipped,
# since yt-dlp puts it into a file name.
LANGUAGE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,34}")


def creator_subtitle_language(available, wanted=None):
    """The language to fetch from yt-dlp's `subtitles` ({language: formats}; the uploader's
    own, never automatic captions): `wanted` or a regional form of it (en-GB for en) when
    given, else English first, then any. None when there is none."""
    if not isinstance(available, dict):
        return None
    languages = [code for code, formats in available.items()
                 if formats and isinstance(code, str) and LANGUAGE_CODE.fullmatch(code)
                 and code not in NOT_SUBTITLES]

    def forms_of(base):
        exact = [code for code in languages if code.lower() == base]
        return exact + [code for code in languages if code.lower().startswith(base + "-")]

    if wanted:
        return (forms_of(str(wanted).lower()) or [None])[0]
    return (forms_of("en") or languages or [None])[0]


def creator_subtitle_options(language, directory):
    """yt-dlp parameters for a pass that writes only the uploader's subtitles in `language`
    as `<directory>/creator_subtitles.<language>.vtt` (converted with ffmpeg when the site
    offers another format). Errors become warnings: the media download goes on without them."""
    return {
        "skip_download": True,
        "writesubtitles": True,
        "writeautomaticsub": False,
        "subtitleslangs": [re.escape(language)],
        "subtitlesformat": "vtt/best",
        "postprocessors": [{"key": "FFmpegSubtitlesConvertor", "format": "vtt",
                            "when": "before_dl"}],
        "paths": {"home": os.fspath(directory), "temp": os.fspath(directory)},
        "outtmpl": {"default": "creator_subtitles.%(ext)s"},
        "ignoreerrors": True,
    }
