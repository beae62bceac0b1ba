"""Doctor checks for downloading: yt-dlp, its challenge solver and Deno, cookies, settings."""
import re
import subprocess
import time
from datetime import date

from services.doctor.base import (
    FAIL,
    OK,
    SETUP_FIX,
    WARN,
    Check,
    installed_version,
    run_command,
    version_tuple,
)
from services.download import cookies
from services.download.options import (
    DownloadSettingsError,
    check_settings,
    cookies_path,
    deno_path,
    redacted_proxy,
    ytdlp_options,
)
from services.formatting import human_bytes

YTDLP_MAX_AGE_DAYS = 90
DENO_MIN = (2, 3, 0)        # yt-dlp's own minimum for Deno
YTDLP_EXTRAS = {"brotli": "brotli", "certifi": "certifi", "websockets": "websockets",
                "pycryptodomex": "Cryptodome", "mutagen": "mutagen", "requests": "requests",
                "urllib3": "urllib3"}
# The flags yt-dlp gives Deno when it runs the challenge solver (yt_dlp/.../jsc/_builtin/deno.py).
DENO_SOLVER_FLAGS = ("--ext=js", "--no-code-cache", "--no-prompt", "--no-remote", "--no-lock",
                     "--node-modules-dir=none", "--no-config", "--no-npm", "--cached-only")


def check_ytdlp(_, today=None):
    """yt-dlp is installed and not too old for YouTube."""
    version = installed_version("yt-dlp")
    if version is None:
        return Check("yt-dlp", FAIL, "not installed", SETUP_FIX)
    parts = version_tuple(version)
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
    """The optional libraries of yt-dlp's `default` extra are installed."""
    missing = []
    for distribution, module in YTDLP_EXTRAS.items():
        try:
            __import__(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        return Check("yt-dlp extras", WARN, f"missing: {', '.join(missing)} (yt-dlp's `default` "
                     "extra; some sites and formats need them)", SETUP_FIX)
    found = ", ".join(f"{name} {installed_version(name)}" for name in YTDLP_EXTRAS)
    return Check("yt-dlp extras", OK, found)


def check_ejs(_):
    """yt-dlp-ejs is installed and its scripts are the ones this yt-dlp accepts."""
    version = installed_version("yt-dlp-ejs")
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
    if version_tuple(version)[:2] != version_tuple(vendor.VERSION)[:2]:
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
    """Deno, which solves YouTube's JavaScript challenges, is found and new enough."""
    configured = (settings.get("download") or {}).get("js_runtime")
    path = deno_path(configured)
    fix = ("Run `make setup` to install the deno package, or set download.js_runtime to a deno "
           "binary.")
    if not path:
        return Check("Deno (JavaScript runtime)", FAIL, "not found: YouTube's JavaScript challenges "
                     "cannot be solved, so formats will be missing", fix)
    try:
        code, out, err = run_command([path, "--version"])
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("Deno (JavaScript runtime)", FAIL, f"{path} does not run: {exc}", fix)
    match = re.search(r"^deno (\S+)", out, re.MULTILINE)
    if code != 0 or not match:
        return Check("Deno (JavaScript runtime)", FAIL,
                     f"{path} --version failed: {(err or out).strip()[:200]}", fix)
    version = match.group(1)
    if version_tuple(version) < DENO_MIN:
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
        code, out, err = run_command([path, "run", *DENO_SOLVER_FLAGS, "-"], stdin=script)
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


def check_cookies(settings):
    """The cookies file, when there is one, is readable and holds YouTube cookies."""
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
    """The download section of the settings is valid; a summary of it."""
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

