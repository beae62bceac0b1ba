"""Doctor checks for the machine and the server: Python, data folder, database, access,
Redis and the network."""
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

from services.doctor.base import FAIL, OK, SETUP_FIX, WARN, Check
from services.formatting import human_bytes
from services.input_checks import is_loopback

DISK_WARN = 2 * 1024 ** 3
DISK_FAIL = 200 * 1024 ** 2
DNS_HOST = "www.youtube.com"


def check_python(_):
    """The Python that runs the pipeline is 3.11 or newer."""
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):
        return Check("Python", FAIL, f"Python {version}", "Use Python 3.11 or newer.")
    return Check("Python", OK, f"Python {version} ({sys.executable})")


def check_data_folder(settings):
    """The data folder exists, is writable and has free disk space."""
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
    """The database answers, and SQLite runs in WAL mode."""
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
    """The server's host and access token make a safe, startable combination."""
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


def check_redis(settings):
    """Redis answers when it is configured, and under runner: rq workers take runs."""
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
    """YouTube's host name resolves within `timeout` seconds."""
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

