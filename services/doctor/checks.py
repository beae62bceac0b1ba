"""The doctor: is everything the pipeline needs here, and does it work? One check a component.

Each check answers ok, warn or fail, with what it found and, when it is not ok, the fix. A check
never raises: an unexpected error is itself the finding. `run_checks(settings, engine)` runs
them all; `quick=True` leaves out the slow ones (loading the speech model, yt-dlp's own view,
the challenge solver, the DNS look-up) for the dashboard's banner.
"""
import importlib.metadata
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from services.download import cookies
from services.formatting import human_bytes
from services.input_checks import is_loopback
from services.download.options import (DownloadSettingsError, check_settings, cookies_path,
                                    deno_path, redacted_proxy, ytdlp_options)

OK, WARN, FAIL = "ok", "warn", "fail"
SETUP_FIX = "Run `make setup` (or `.venv/bin/pip install -r requirements.txt`)."
YTDLP_MAX_AGE_DAYS = 90
DENO_MIN = (2, 3, 0)        # yt-dlp's own minimum for Deno
FFMPEG_FILTERS = ("loudnorm", "ebur128", "sidechaincompress", "afade", "acrossfade", "silencedetect")
YTDLP_EXTRAS = {"brotli": "brotli", "certifi": "certifi", "websockets": "websockets",
                "pycryptodomex": "Cryptodome", "mutagen": "mutagen", "requests": "requests",
                "urllib3": "urllib3"}
DISK_WARN = 2 * 1024 ** 3
DISK_FAIL = 200 * 1024 ** 2
COMMAND_TIMEOUT = 20
MODEL_TIMEOUT = 300
DNS_HOST = "www.youtube.com"
# The flags yt-dlp gives Deno when it runs the challenge solver (yt_dlp/.../jsc/_builtin/deno.py).
DENO_SOLVER_FLAGS = ("--ext=js", "--no-code-cache", "--no-prompt", "--no-remote", "--no-lock",
                     "--node-modules-dir=none", "--no-config", "--no-npm", "--cached-only")


@dataclass
class Check:
    """One component's finding."""

    component: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self):
        return asdict(self)


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _version_tuple(text):
    return tuple(int(part) for part in re.findall(r"[0-9]+", text or "", re.ASCII)[:3])


def _run(command, stdin=None, timeout=COMMAND_TIMEOUT):
    """(returncode, stdout, stderr) of a short command; raises OSError or TimeoutExpired."""
    result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                            timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


# --- the checks --------------------------------------------------------------------------------

def check_python(_):
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):
        return Check("Python", FAIL, f"Python {version}", "Use Python 3.11 or newer.")
    return Check("Python", OK, f"Python {version} ({sys.executable})")


def check_ytdlp(_, today=None):
    version = _version("yt-dlp")
    if version is None:
        return Check("yt-dlp", FAIL, "not installed", SETUP_FIX)
    parts = _version_tuple(version)
    try:
        released = date(*parts[:3])
    except (TypeError, ValueError):
        return Check("yt-dlp", OK, f"yt-dlp {version}")
    age = ((today or date.today()) - released).days
    if age > YTDLP_MAX_AGE_DAYS:
        return Check("yt-dlp", WARN, f"yt-dlp {version} is {age} days old; YouTube changes often "
                     "and old releases stop working with it.",
                     "Update it: `.venv/bin/pip install -U yt-dlp yt-dlp-ejs`, then pin the new "
                     "versions in requirements.txt.")
    return Check("yt-dlp", OK, f"yt-dlp {version} ({age} days old)")


def check_ytdlp_extras(_):
    missing = []
    for distribution, module in YTDLP_EXTRAS.items():
        try:
            __import__(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        return Check("yt-dlp extras", WARN, f"missing: {', '.join(missing)} (yt-dlp's `default` "
                     "extra; some sites and formats need them)", SETUP_FIX)
    found = ", ".join(f"{name} {_version(name)}" for name in YTDLP_EXTRAS)
    return Check("yt-dlp extras", OK, found)


def check_ejs(_):
    """yt-dlp-ejs is installed and its scripts are the ones this yt-dlp accepts."""
    version = _version("yt-dlp-ejs")
    if version is None:
        return Check("Challenge solver (yt-dlp-ejs)", FAIL, "not installed: YouTube's JavaScript "
                     "challenges cannot be solved, so formats will be missing", SETUP_FIX)
    try:
        import hashlib

        import yt_dlp_ejs.yt.solver as solver
        from yt_dlp.extractor.youtube.jsc._builtin import vendor
    except ImportError as exc:
        return Check("Challenge solver (yt-dlp-ejs)", WARN, f"yt-dlp-ejs {version}; cannot compare "
                     f"it with yt-dlp's expectations ({exc})", "")
    if _version_tuple(version)[:2] != _version_tuple(vendor.VERSION)[:2]:
        return Check("Challenge solver (yt-dlp-ejs)", FAIL, f"yt-dlp-ejs {version}, but this yt-dlp "
                     f"expects {vendor.VERSION} and will not use it",
                     f"Install yt-dlp-ejs=={vendor.VERSION} (pin it in requirements.txt).")
    expected = {"core": vendor.HASHES.get("yt.solver.core.min.js"),
                "lib": vendor.HASHES.get("yt.solver.lib.min.js")}
    for name, code in (("core", solver.core()), ("lib", solver.lib())):
        if expected[name] and hashlib.sha3_512(code.encode()).hexdigest() != expected[name]:
            return Check("Challenge solver (yt-dlp-ejs)", FAIL, f"yt-dlp-ejs {version}: its {name} "
                         "script does not match the one yt-dlp expects, so yt-dlp will refuse it",
                         "Reinstall it: `.venv/bin/pip install --force-reinstall "
                         f"yt-dlp-ejs=={vendor.VERSION}`.")
    return Check("Challenge solver (yt-dlp-ejs)", OK,
                 f"yt-dlp-ejs {version}; scripts match what yt-dlp expects; remote components off")


def check_deno(settings):
    configured = (settings.get("download") or {}).get("js_runtime")
    path = deno_path(configured)
    fix = ("Run `make setup` to install the deno package, or set download.js_runtime to a deno "
           "binary.")
    if not path:
        return Check("Deno (JavaScript runtime)", FAIL, "not found: YouTube's JavaScript challenges "
                     "cannot be solved, so formats will be missing", fix)
    try:
        code, out, err = _run([path, "--version"])
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("Deno (JavaScript runtime)", FAIL, f"{path} does not run: {exc}", fix)
    match = re.search(r"^deno (\S+)", out, re.MULTILINE)
    if code != 0 or not match:
        return Check("Deno (JavaScript runtime)", FAIL,
                     f"{path} --version failed: {(err or out).strip()[:200]}", fix)
    version = match.group(1)
    if _version_tuple(version) < DENO_MIN:
        return Check("Deno (JavaScript runtime)", WARN, f"Deno {version} at {path} is older than "
                     f"{'.'.join(map(str, DENO_MIN))}, which yt-dlp needs", fix)
    return Check("Deno (JavaScript runtime)", OK, f"Deno {version} at {path} (given to yt-dlp "
                 "explicitly, so PATH does not matter)")


def check_solver_runs(settings):
    """Deno runs the EJS solver scripts offline, with the flags yt-dlp uses."""
    name = "Deno runs the challenge solver"
    path = deno_path((settings.get("download") or {}).get("js_runtime"))
    try:
        import yt_dlp_ejs.yt.solver as solver
    except ImportError:
        return Check(name, FAIL, "yt-dlp-ejs is not installed", SETUP_FIX)
    if not path:
        return Check(name, FAIL, "no Deno binary", "See the Deno check above.")
    script = (f"{solver.lib()}\nObject.assign(globalThis, lib);\n{solver.core()}\n"
              "console.log(typeof jsc);\n")
    started = time.monotonic()
    try:
        code, out, err = _run([path, "run", *DENO_SOLVER_FLAGS, "-"], stdin=script)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(name, FAIL, f"Deno did not run: {exc}", "See the Deno check above.")
    if code != 0 or out.strip() != "function":
        return Check(name, FAIL, f"the solver did not load in Deno: {(err or out).strip()[:300]}",
                     "Reinstall Deno and yt-dlp-ejs (`make setup`).")
    return Check(name, OK, f"solver loaded offline in {time.monotonic() - started:.2f} s")


class _Lines:
    """A yt-dlp logger that keeps its debug lines."""

    def __init__(self):
        self.lines = []

    def debug(self, message):
        self.lines.append(message)

    info = warning = error = debug


def ytdlp_header(settings):
    """yt-dlp's verbose header lines, from a YoutubeDL made with the pipeline's options."""
    import yt_dlp

    lines = _Lines()
    options = ytdlp_options(settings.get("download") or {}, settings.get("data_dir") or ".")
    options.update({"verbose": True, "logger": lines, "quiet": True})
    with yt_dlp.YoutubeDL(options):
        pass
    return lines.lines


def check_ytdlp_view(settings):
    """What yt-dlp itself reports, started with the pipeline's options."""
    name = "yt-dlp sees"
    try:
        lines = ytdlp_header(settings)
    except Exception as exc:  # the finding is that yt-dlp could not start
        return Check(name, FAIL, f"yt-dlp did not start with the pipeline's options: {exc}", "")
    runtimes = next((line.split(":", 1)[1].strip() for line in lines
                     if line.startswith("[debug] JS runtimes:")), "")
    libraries = next((line.split(":", 1)[1].strip() for line in lines
                      if line.startswith("[debug] Optional libraries:")), "")
    problems = []
    if not re.search(r"\bdeno-[0-9]", runtimes) or "unsupported" in runtimes:
        problems.append(f"no usable JS runtime ({runtimes or 'none'})")
    if "yt_dlp_ejs-" not in libraries:
        problems.append("no EJS challenge-solver scripts")
    detail = f"JS runtimes: {runtimes or 'none'}; optional libraries: {libraries or 'none'}"
    if problems:
        return Check(name, FAIL, f"{'; '.join(problems)}. {detail}", SETUP_FIX)
    return Check(name, OK, detail)


def check_ffmpeg(_):
    from services.media.ffmpeg import ffmpeg_path

    try:
        path = ffmpeg_path()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError when it has no binary
        return Check("ffmpeg", FAIL, f"not found: {exc}",
                     "Install ffmpeg (`apt-get install ffmpeg`) or run `make setup` for imageio-ffmpeg.")
    source = "system" if shutil.which("ffmpeg") == path else "imageio-ffmpeg"
    try:
        code, out, _ = _run([path, "-hide_banner", "-version"])
        _, filters, _ = _run([path, "-hide_banner", "-filters"])
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("ffmpeg", FAIL, f"{path} does not run: {exc}", "Reinstall ffmpeg.")
    first = out.splitlines()[0] if out else "unknown version"
    version = first.replace("ffmpeg version ", "").split(" Copyright")[0]
    missing = [f for f in FFMPEG_FILTERS if not re.search(rf"\s{f}\s", filters)]
    if code != 0:
        return Check("ffmpeg", FAIL, f"{path} -version failed", "Reinstall ffmpeg.")
    if missing:
        return Check("ffmpeg", WARN, f"ffmpeg {version} ({source}) lacks filters: "
                     f"{', '.join(missing)}", "Install a full ffmpeg build (`apt-get install ffmpeg`).")
    return Check("ffmpeg", OK, f"ffmpeg {version} ({source}, {path})")


def check_speech_libraries(settings):
    whisper = settings.get("whisper") or {}
    versions = {name: _version(name) for name in ("faster-whisper", "ctranslate2", "av")}
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        return Check("faster-whisper", FAIL, f"missing: {', '.join(missing)}", SETUP_FIX)
    detail = ", ".join(f"{name} {version}" for name, version in versions.items())
    device = whisper.get("device") or "cpu"
    compute = whisper.get("compute_type") or "default"
    try:
        import ctranslate2

        if device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
            return Check("faster-whisper", FAIL, f"{detail}; whisper.device is cuda but no CUDA "
                         "device is visible", "Set whisper.device to cpu, or install the GPU driver.")
        supported = ctranslate2.get_supported_compute_types("cuda" if device == "cuda" else "cpu")
    except (ImportError, RuntimeError, ValueError) as exc:
        return Check("faster-whisper", FAIL, f"{detail}; CTranslate2 does not work: {exc}", SETUP_FIX)
    if compute not in ("default", "auto") and compute not in supported:
        return Check("faster-whisper", FAIL, f"{detail}; compute type {compute} is not supported "
                     f"on {device} (supported: {', '.join(sorted(supported))})",
                     "Set whisper.compute_type to one of those.")
    return Check("faster-whisper", OK, f"{detail}; {device}, {compute}")


def check_model(settings, load=True):
    from services.engine.context import StageError
    from services.stages.transcription import model_directory

    whisper = settings.get("whisper") or {}
    name = whisper.get("model") or "bundled"
    try:
        folder = model_directory(name)
    except StageError as exc:
        return Check("Speech model", FAIL, str(exc), "Set whisper.model to bundled or to a "
                     "CTranslate2 model folder (nothing is downloaded at run time).")
    files = [f for f in ("model.bin", "config.json") if not (Path(folder) / f).is_file()]
    if files:
        return Check("Speech model", FAIL, f"{folder} lacks {', '.join(files)}",
                     "Point whisper.model at a complete CTranslate2 model folder.")
    size = sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file())
    detail = f"{name} at {folder} ({human_bytes(size)})"
    if not load:
        return Check("Speech model", OK, f"{detail}; found")
    try:
        seconds = load_model(folder, whisper)
    except Exception as exc:  # the finding is that it did not load
        return Check("Speech model", FAIL, f"{detail}; does not load: {exc}",
                     "Check the folder is a CTranslate2 Whisper model and whisper.device/"
                     "compute_type suit this machine.")
    return Check("Speech model", OK, f"{detail}; loads in {seconds:.1f} s")


def load_model(folder, whisper, timeout=MODEL_TIMEOUT):
    """Load the model in a child process (its memory goes back when it exits); seconds taken."""
    from services.engine.cancel import CancelToken
    from services.workers import run_worker

    token = CancelToken()
    timer = threading.Timer(timeout, token.cancel)
    timer.start()
    started = time.monotonic()
    try:
        for message in run_worker("transcribe", [
                "--load-only", "--model", folder, "--device", whisper.get("device") or "cpu",
                "--compute-type", whisper.get("compute_type") or "default",
                "--cpu-threads", int(whisper.get("cpu_threads") or 0)], token, "faster_whisper"):
            if message.get("event") == "loaded":
                return time.monotonic() - started
    finally:
        timer.cancel()
    raise RuntimeError("the model loader ended without loading it")


def check_data_folder(settings):
    folder = Path(settings.get("data_dir") or ".")
    if not folder.is_dir():
        return Check("Data folder", FAIL, f"{folder} does not exist", "Create it, or set data_dir.")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-") as handle:
            handle.write(b"ok")
    except OSError as exc:
        return Check("Data folder", FAIL, f"{folder} is not writable: {exc.strerror or exc}",
                     "Give this user write access to it, or set data_dir elsewhere.")
    free = shutil.disk_usage(folder).free
    detail = f"{folder}: writable, {human_bytes(free)} free"
    if free < DISK_FAIL:
        return Check("Data folder", FAIL, detail, "Free disk space: an hour of audio needs about "
                     "0.5 GiB while it is processed.")
    if free < DISK_WARN:
        return Check("Data folder", WARN, detail, "Free some disk space before long runs.")
    return Check("Data folder", OK, detail)


def check_database(engine):
    if engine is None:
        return Check("Database", WARN, "not checked (no database connection given)", "")
    from sqlalchemy import text

    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            if engine.dialect.name != "sqlite":
                return Check("Database", OK, f"{engine.dialect.name}: {shown}")
            mode = connection.execute(text("PRAGMA journal_mode")).scalar()
    except Exception as exc:  # the finding is that the database does not answer
        return Check("Database", FAIL, f"{shown} does not answer: {str(exc)[:300]}",
                     "Check database_url and that the database server is running.")
    if str(mode).lower() != "wal":
        return Check("Database", WARN, f"SQLite {shown} in {mode} mode, not WAL",
                     "Use a local disk for the data folder: WAL needs one (network file systems "
                     "do not support it).")
    return Check("Database", OK, f"SQLite in WAL mode ({shown})")


def check_access(settings):
    server = settings.get("server") or {}
    host, token = server.get("host"), server.get("auth_token")
    if token is not None and not isinstance(token, str):
        return Check("Access", WARN, f"server.auth_token is a {type(token).__name__}, not text",
                     "Quote it in config.yaml (auth_token: \"...\").")
    if is_loopback(host):
        state = "a token is also required" if token else "no token needed"
        return Check("Access", OK, f"listening on {host} (this machine only); {state}")
    if not token:
        return Check("Access", FAIL, f"server.host is {host} but no server.auth_token is set, so "
                     "the server will refuse to start",
                     "Set server.auth_token (PIPELINE_SERVER_AUTH_TOKEN), or listen on 127.0.0.1.")
    if len(token) < 16:
        return Check("Access", WARN, f"listening on {host} with a short access token "
                     f"({len(token)} characters)", "Use a token of 16 characters or more "
                     "(e.g. `python -c \"import secrets; print(secrets.token_urlsafe(24))\"`).")
    return Check("Access", OK, f"listening on {host}; requests need the access token")


def check_cookies(settings):
    section = settings.get("download") or {}
    try:
        path = cookies_path(section, settings.get("data_dir") or ".")
    except DownloadSettingsError as exc:
        return Check("Cookies", FAIL, str(exc), "Put the file in the data folder and name it there.")
    optional = ("optional: needed for age-restricted, members-only and private videos, and when "
                "YouTube asks to confirm you are not a bot")
    if path is None or not path.exists():
        return Check("Cookies", OK, f"no cookies file ({optional})")
    try:
        found = cookies.summary(path)
    except cookies.CookieFileError as exc:
        return Check("Cookies", FAIL, str(exc), "Export the cookies again in Netscape format, or "
                     "remove the file.")
    detail = f"a cookies file with {found['count']} cookies, {found['youtube']} for YouTube/Google"
    if found["skipped"]:
        return Check("Cookies", WARN, f"{detail}; {found['skipped']} line(s) are not in Netscape "
                     "format and are skipped", "Export the cookies again with a cookies.txt "
                     "browser extension.")
    if found["loose_permissions"]:
        return Check("Cookies", WARN, f"{detail}; other users of this machine can read it",
                     "Restrict it: `chmod 600` on the cookies file in the data folder.")
    if not found["youtube"]:
        return Check("Cookies", WARN, f"{detail}; none are for YouTube",
                     "Export the cookies from a browser signed in to YouTube.")
    return Check("Cookies", OK, detail)


def check_download_settings(settings):
    try:
        section = check_settings(settings.get("download") or {}, settings.get("data_dir") or ".")
    except DownloadSettingsError as exc:
        return Check("Download settings", FAIL, str(exc), "Fix it in config.yaml.")
    parts = [f"format {section['format']}",
             f"proxy {redacted_proxy(section['proxy']) or 'none'}",
             f"rate limit {human_bytes(section['rate_limit']) + '/s' if section['rate_limit'] else 'none'}",
             f"retries {section['retries']} (fragments {section['fragment_retries']}), backoff "
             f"{section['retry_sleep_initial']:g}-{section['retry_sleep_max']:g} s",
             f"player client {','.join(section['player_client']) if section['player_client'] else 'yt-dlp default'}"]
    return Check("Download settings", OK, "; ".join(parts))


def check_redis(settings):
    url = (settings.get("redis_url") or (settings.get("socketio") or {}).get("message_queue")
           or None)
    runner = settings.get("runner") or "thread"
    if runner != "rq" and not url:
        return Check("Redis", OK, "not configured (only needed to spread runs over workers)")
    if not url:
        return Check("Redis", FAIL, "runner is rq but redis_url is not set",
                     "Set redis_url (PIPELINE_REDIS_URL), e.g. redis://127.0.0.1:6379/0.")
    try:
        import redis
    except ImportError:
        return Check("Redis", FAIL, "configured, but the redis package is not installed", SETUP_FIX)
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is shown without its details
        shown = "the configured URL"
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # the finding is that Redis does not answer
        return Check("Redis", FAIL, f"{shown} does not answer: {str(exc)[:200]}",
                     "Start Redis (`redis-server`) or fix redis_url.")
    if runner != "rq":
        return Check("Redis", OK, f"{shown} answers")
    return _rq_workers(client, shown)


def _rq_workers(client, shown):
    """Under runner: rq, the workers that take runs from the pipeline queue."""
    from rq import Queue, Worker

    from services.engine.run_board import QUEUE_NAME

    try:
        workers = Worker.all(queue=Queue(QUEUE_NAME, connection=client))
    except Exception as exc:  # the finding is that the worker list cannot be read
        return Check("Redis", WARN, f"{shown} answers; its RQ workers cannot be listed: "
                     f"{str(exc)[:200]}")
    if not workers:
        return Check("Redis", WARN, f"{shown} answers, but no RQ worker is running: runs wait "
                     "in the queue until one starts", "Start one: `python run.py worker` (or "
                     "`make worker`) on this or another machine with the same configuration.")
    return Check("Redis", OK, f"{shown} answers; {len(workers)} RQ worker(s) take runs")


def check_dns(_, host=DNS_HOST, timeout=3.0):
    result = {}

    def resolve():
        try:
            result["addresses"] = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    if "addresses" in result:
        return Check("Network", OK, f"{host} resolves")
    reason = result.get("error") or f"no answer in {timeout:g} s"
    return Check("Network", WARN, f"{host} does not resolve ({reason}): YouTube URLs will fail "
                 "until it does; local and LAN URLs still work",
                 "Connect this machine to the internet, fix its DNS, or set download.proxy.")


def run_checks(settings, engine=None, quick=False):
    """Every check, in the order a reader needs them; quick=True leaves out the slow ones."""
    steps = [check_python, check_ytdlp, check_ytdlp_extras, check_ejs, check_deno]
    if not quick:
        steps += [check_solver_runs, check_ytdlp_view]
    steps += [check_ffmpeg, check_speech_libraries,
              (lambda s: check_model(s, load=not quick)), check_data_folder,
              (lambda s: check_database(engine)), check_access, check_cookies,
              check_download_settings, check_redis]
    if not quick:
        steps.append(check_dns)
    results = []
    for step in steps:
        try:
            results.append(step(settings))
        except Exception as exc:  # a check that breaks is reported, never raised
            name = getattr(step, "__name__", "check").replace("check_", "").replace("_", " ")
            results.append(Check(name, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}"))
    return results


def summarize(checks):
    """{"status": worst, "ok": n, "warn": n, "fail": n}."""
    counts = {status: sum(1 for c in checks if c.status == status) for status in (OK, WARN, FAIL)}
    worst = FAIL if counts[FAIL] else WARN if counts[WARN] else OK
    return {"status": worst, **counts}


def format_report(checks, color=False):
    """The report as terminal text: one line a check, its fix indented below."""
    marks = {OK: ("ok", "\x1b[32m"), WARN: ("WARN", "\x1b[33m"), FAIL: ("FAIL", "\x1b[31m")}
    width = max((len(c.component) for c in checks), default=10)
    lines = ["YouTube Pipeline doctor", ""]
    for check in checks:
        mark, code = marks.get(check.status, (check.status, ""))
        shown = f"{code}{mark:<4}\x1b[0m" if color else f"{mark:<4}"
        lines.append(f"  {shown}  {check.component:<{width}}  {check.detail}")
        if check.fix and check.status != OK:
            lines.append(f"        {'':<{width}}  fix: {check.fix}")
    counts = summarize(checks)
    lines += ["", f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)"]
    return "\n".join(lines)
