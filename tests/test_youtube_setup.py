"""YouTube readiness: yt-dlp gets Deno and the EJS scripts however the server is started, the
cookies file is used but never shown, and the download settings reach yt-dlp."""
import functools
import http.server
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from services.config.loading import DEFAULTS, ConfigError, load_settings
from services.download.options import (
    DownloadSettingsError,
    backoff,
    check_settings,
    deno_path,
    parse_rate_limit,
    redacted_proxy,
    ytdlp_options,
)
from tests.conftest import follow_run
from tests.media_support import FIXTURES
from tests.server_support import (
    ROOT,
    loopback_http,
    path_without_venv,
    start_run,
    start_server,
    wait_state,
)

VENV_BIN = Path(sys.executable).parent


def clean_env():
    """The environment `make run` gives the server: the venv's python, its bin not on PATH."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PIPELINE_") and key != "VIRTUAL_ENV"}
    env["PATH"] = path_without_venv()
    return env


# --- options ---------------------------------------------------------------------------------

def test_options_name_deno_and_keep_remote_components_off(tmp_path):
    options = ytdlp_options(DEFAULTS["download"], tmp_path)
    deno = options["js_runtimes"]["deno"]["path"]
    assert Path(deno).is_absolute() and os.access(deno, os.X_OK)
    assert Path(deno).resolve().is_relative_to(Path(sys.prefix).resolve())  # the venv's own Deno
    assert options["remote_components"] == []
    assert options["format"] == "bestaudio/best"
    assert "cookiefile" not in options and "proxy" not in options and "ratelimit" not in options


def test_settings_reach_yt_dlp(tmp_path):
    section = dict(DEFAULTS["download"], proxy="socks5://user:pw@127.0.0.1:1080", rate_limit="2M",
                   retries=4, fragment_retries=6, player_client="default, mweb",
                   retry_sleep_initial=0.5, retry_sleep_max=4)
    options = ytdlp_options(section, tmp_path, cookiefile=tmp_path / "copy.txt")
    assert options["proxy"] == "socks5://user:pw@127.0.0.1:1080"
    assert options["ratelimit"] == 2 * 1024 * 1024
    assert (options["retries"], options["fragment_retries"]) == (4, 6)
    assert options["extractor_args"] == {"youtube": {"player_client": ["default", "mweb"]}}
    assert options["cookiefile"] == str(tmp_path / "copy.txt")
    sleep = options["retry_sleep_functions"]["http"]
    assert [sleep(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert redacted_proxy(options["proxy"]) == "socks5://127.0.0.1:1080"


def test_rate_limits_and_backoff():
    assert parse_rate_limit("500K") == 500 * 1024
    assert parse_rate_limit("1.5MiB") == int(1.5 * 1024 ** 2)
    assert parse_rate_limit(250000) == 250000
    assert parse_rate_limit(None) is None
    for bad in ("fast", "\u00b2M", "12", "1e400", True, 10 ** 30, float("nan"), "5 P"):
        with pytest.raises(DownloadSettingsError):
            parse_rate_limit(bad)
    assert backoff(1, 30)(10 ** 9) == 30


@pytest.mark.parametrize("key, value, words", [
    ("proxy", "ftp://host:21", "schemes"),
    ("proxy", "http://host:99999999", "schemes"),
    ("retries", -1, "download.retries"),
    ("retries", "\u00b2", "download.retries"),
    ("retries", 2 ** 70, "download.retries"),
    ("retries", True, "download.retries"),
    ("player_client", "web; rm -rf", "player_client"),
    ("cookies_file", "../outside.txt", "inside the data folder"),
    ("cookies_file", "/etc/passwd", "inside the data folder"),
    ("format", "", "download.format"),
    ("retry_sleep_max", float("inf"), "retry_sleep_max"),
    ("js_runtime", 5, "js_runtime"),
])
def test_bad_download_settings_are_refused_at_start(tmp_path, key, value, words):
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides={"data_dir": str(tmp_path), "download": {key: value}})
    assert words in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(DEFAULTS["download"])),
                       st.one_of(st.none(), st.booleans(), st.text(),
                                 st.integers(min_value=-2 ** 80, max_value=2 ** 80),
                                 st.floats(allow_nan=True), st.lists(st.text(), max_size=3))))
def test_any_download_settings_are_taken_or_refused_cleanly(values):
    section = dict(DEFAULTS["download"], **values)
    try:
        checked = check_settings(section, "/tmp/data-folder")
    except DownloadSettingsError as exc:
        assert str(exc).startswith("download")
    else:
        ytdlp_options(checked, "/tmp/data-folder")


def test_deno_path_takes_a_folder_or_a_binary(tmp_path):
    assert deno_path(str(tmp_path)) == str(tmp_path / "deno")
    assert deno_path("/opt/deno/bin/deno") == "/opt/deno/bin/deno"
    assert deno_path(None).startswith(str(VENV_BIN))


# --- the doctor, started as `make run` starts the server --------------------------------------

def run_doctor(tmp_path, *args, config=None):
    command = [sys.executable, "run.py", "--data-dir", str(tmp_path)]
    if config:
        command += ["--config", str(config)]
    return subprocess.run([*command, "doctor", *args], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=300)


def test_doctor_finds_deno_in_the_venv_without_it_on_path(tmp_path):
    assert not any((Path(p) / "deno").exists() and Path(p).resolve() == VENV_BIN.resolve()
                   for p in clean_env()["PATH"].split(os.pathsep))
    result = run_doctor(tmp_path, "--json")
    report = json.loads(result.stdout)
    checks = {c["component"]: c for c in report["checks"]}
    assert result.returncode == 0, result.stdout + result.stderr
    deno = checks["Deno (JavaScript runtime)"]
    assert deno["status"] == "ok" and str(VENV_BIN / "deno") in deno["detail"]
    assert checks["Deno runs the challenge solver"]["status"] == "ok"
    assert checks["Challenge solver (yt-dlp-ejs)"]["status"] == "ok"
    seen = checks["yt-dlp sees"]
    assert seen["status"] == "ok" and "deno-" in seen["detail"] and "yt_dlp_ejs-" in seen["detail"]
    assert checks["Speech model"]["status"] == "ok" and "loads in" in checks["Speech model"]["detail"]
    assert checks["Database"]["status"] == "ok" and "WAL" in checks["Database"]["detail"]
    assert checks["Data folder"]["status"] == "ok"
    assert report["summary"]["fail"] == 0


def test_doctor_names_a_failure_and_its_fix(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("download:\n  js_runtime: /nonexistent/deno\nwhisper:\n  model: /nonexistent/model\n")
    result = run_doctor(tmp_path, "--quick", config=config)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    deno_line = next(line for line in lines if "Deno (JavaScript runtime)" in line)
    assert deno_line.strip().startswith("FAIL") and "/nonexistent/deno" in deno_line
    assert any("fix:" in line and "download.js_runtime" in line for line in lines)
    assert any(line.strip().startswith("FAIL") and "Speech model" in line for line in lines)
    assert "failure(s)" in lines[-1]


def test_doctor_reports_a_broken_config_instead_of_crashing(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("download:\n  rate_limit: very fast\n")
    result = run_doctor(tmp_path, config=config)
    assert result.returncode == 1
    assert "Configuration" in result.stdout and "download.rate_limit" in result.stdout
    assert "Traceback" not in result.stderr


def test_doctor_page_and_json(live_server):
    page = requests.get(f"{live_server.url}/doctor", timeout=120)
    assert page.status_code == 200
    for component in ("Deno (JavaScript runtime)", "yt-dlp sees", "Speech model", "Database",
                      "Access", "Redis", "ffmpeg"):
        assert component in page.text
    report = requests.get(f"{live_server.url}/api/doctor?quick=1", timeout=60).json()
    assert {c["status"] for c in report["checks"]} <= {"ok", "warn", "fail"}
    assert report["summary"]["fail"] == 0, report


def test_dashboard_banner_links_to_the_doctor_when_something_fails(live_server, monkeypatch):
    app = live_server.app
    assert 'data-field="doctor-banner"' not in requests.get(live_server.url, timeout=30).text
    monkeypatch.setitem(app.config["PIPELINE"]["download"], "js_runtime", "/nonexistent/<b>deno")
    app.extensions.pop("doctor_banner", None)
    try:
        page = requests.get(live_server.url, timeout=30).text
        assert 'data-field="doctor-banner"' in page
        assert "Deno (JavaScript runtime)" in page and 'href="/doctor"' in page
        doctor = requests.get(f"{live_server.url}/doctor", timeout=120).text
        assert "/nonexistent/&lt;b&gt;deno" in doctor and "<b>deno" not in doctor
    finally:
        app.extensions.pop("doctor_banner", None)


# --- a server started as `make run` starts it: yt-dlp's view, and the cookies file ------------

class CookieRecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the fixtures and keeps the Cookie header of every request."""

    cookies = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.cookies.append(self.headers.get("Cookie"))
        super().do_GET()


@pytest.fixture(scope="module")
def cookie_media():
    with loopback_http(functools.partial(CookieRecordingHandler, directory=str(FIXTURES))) as url:
        yield url


@pytest.fixture(scope="module")
def made_run_server(tmp_path_factory):
    """`python run.py` without the venv on PATH, verbose yt-dlp, and a cookies file."""
    folder = tmp_path_factory.mktemp("readiness")
    data_dir = folder / "data"
    data_dir.mkdir()
    secret = f"secret-{uuid.uuid4().hex}"
    cookie_file = data_dir / "cookies.txt"
    cookie_file.write_text("# Netscape HTTP Cookie File\n"
                           f"127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tSID\t{secret}\n"
                           f".youtube.com\tTRUE\t/\tTRUE\t4102444800\tSAPISID\tyt-{secret}\n")
    cookie_file.chmod(0o600)
    config = folder / "config.yaml"
    config.write_text("download:\n  verbose: true\n  cookies_file: cookies.txt\n")
    log_path = folder / "server.log"
    proc, url = start_server(data_dir, log_path, ["--config", str(config)], env=clean_env())
    yield {"url": url, "secret": secret, "cookie_file": cookie_file, "log": log_path,
           "original": cookie_file.read_bytes()}
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def made_run(made_run_server, cookie_media):
    run = follow_run(made_run_server["url"], f"{cookie_media}/speech.mp4", [1], socket=False)
    assert run["snapshot"]["state"] in ("completed", "failed")
    return {"session_id": run["session_id"], "snapshot": run["snapshot"], "events": run["stored"]}


def test_yt_dlp_as_the_pipeline_starts_it_has_deno_and_the_ejs_scripts(made_run):
    assert made_run["snapshot"]["state"] == "completed", made_run["snapshot"]["error"]
    lines = [e["data"]["message"] for e in made_run["events"] if e["event"] == "log_stream"]
    runtimes = next(line for line in lines if line.startswith("[debug] JS runtimes:"))
    assert "deno-2." in runtimes and "unsupported" not in runtimes
    libraries = next(line for line in lines if line.startswith("[debug] Optional libraries:"))
    for library in ("yt_dlp_ejs-", "brotli-", "certifi-", "websockets-", "Cryptodome-"):
        assert library in libraries
    assert any(line.startswith("JavaScript runtime for YouTube: ") and str(VENV_BIN / "deno") in line
               for line in lines)


def test_cookies_are_sent_but_never_shown(made_run, made_run_server, cookie_media):
    secret, cookie_file = made_run_server["secret"], made_run_server["cookie_file"]
    assert f"SID={secret}" in CookieRecordingHandler.cookies  # yt-dlp really used the file
    url, session_id = made_run_server["url"], made_run["session_id"]
    lines = [e["data"]["message"] for e in made_run["events"] if e["event"] == "log_stream"]
    assert "Using the cookies file from the data folder" in lines
    seen = {"events": json.dumps(made_run["events"]),
            "server log": made_run_server["log"].read_text(errors="replace")}
    for path in ("/", f"/runs/{session_id}", "/runs", f"/api/pipeline/status/{session_id}",
                 "/doctor", "/api/doctor"):
        seen[path] = requests.get(f"{url}{path}", timeout=120).text
    for where, text in seen.items():
        assert secret not in text, where
        assert str(cookie_file) not in text, where
    assert "cookies file with 2 cookies, 1 for YouTube" in seen["/doctor"]
    assert cookie_file.read_bytes() == made_run_server["original"]  # yt-dlp wrote to a copy only


def test_a_malformed_cookies_file_fails_the_stage_without_showing_it(made_run_server, cookie_media):
    url, cookie_file = made_run_server["url"], made_run_server["cookie_file"]
    original = cookie_file.read_bytes()
    cookie_file.write_text(f"not a cookie file {made_run_server['secret']}\n")
    try:
        session_id = start_run(url, f"{cookie_media}/speech.mp4?bad-cookies", [1],
                               episode_directory="bad-cookies")
        snapshot = wait_state(url, session_id, ("completed", "failed"))
        events = requests.get(f"{url}/api/pipeline/events/{session_id}?since=0", timeout=10).text
    finally:
        cookie_file.write_bytes(original)
    assert snapshot["state"] == "failed"
    assert "not in Netscape format" in snapshot["error"]
    assert '"code": "cookies_invalid"' in events or '"code":"cookies_invalid"' in events
    assert made_run_server["secret"] not in events and str(cookie_file) not in events


def test_redactor_hides_values_paths_and_unreadable_lines(tmp_path):
    from services.download.cookies import Redactor, load

    path = tmp_path / "cookies.txt"
    path.write_text("# Netscape HTTP Cookie File\n"
                    "#HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t4102444800\tSID\tvalue-of-sid-cookie\n"
                    ".youtube.com\tTRUE\t/\tTRUE\t4102444800\tPREF\tf6=40000000\n"
                    ".example.com\tTRUE\t/\tTRUE\t4102444800\tshort\tyes\n"
                    "broken line with token-abcdefgh inside\n")
    redact = Redactor.for_file(path)
    text = (f"a value-of-sid-cookie and f6=40000000 in {path}; token-abcdefgh; yes, "
            "https://www.youtube.com/watch?v=x and SID")
    assert redact(text) == ("a [redacted] and [redacted] in the cookies file; [redacted]; yes, "
                            "https://www.youtube.com/watch?v=x and SID")
    jar, skipped = load(path)
    assert skipped == 1 and len(list(jar)) == 3


def test_worker_stderr_is_redacted(tmp_path):
    script = ("import sys\n"
              "from services.workers import worker_main\n"
              "with worker_main() as worker:\n"
              "    worker.set_redactor(lambda text: text.replace('hush-hush-value', '[redacted]'))\n"
              "    sys.stderr.write('printed hush-hush-value\\n')\n"
              "    import logging; logging.getLogger('yt_dlp').warning('logged hush-hush-value')\n"
              "    raise RuntimeError('failed with hush-hush-value')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert "hush-hush-value" not in result.stdout + result.stderr
    assert "printed [redacted]" in result.stderr and "logged [redacted]" in result.stderr
    assert "failed with [redacted]" in result.stdout


def test_unknown_home_directories_do_not_crash(tmp_path):
    """"~name" of a user the machine does not know: a name in the data folder, or a clear error."""
    from services.download.options import cookies_path

    assert cookies_path({"cookies_file": "~0"}, tmp_path) == (tmp_path / "~0").resolve()
    assert deno_path("~no-such-user/deno") == "~no-such-user/deno"
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides={"data_dir": "~no-such-user/data"})
    assert "data_dir" in str(caught.value)
