"""The doctor: is everything the pipeline needs here, and does it work? One check a component.

Each check answers ok, warn or fail, with what it found and, when it is not ok, the fix. A check
never raises: an unexpected error is itself the finding. `run_checks(settings, engine)` runs
them all; `quick=True` leaves out the slow ones (loading the speech model, yt-dlp's own view,
the challenge solver, the DNS look-up) for the dashboard's banner.
"""
from services.doctor.base import FAIL, OK, WARN, Check
from services.doctor.download import (
    check_cookies,
    check_deno,
    check_download_settings,
    check_ejs,
    check_solver_runs,
    check_ytdlp,
    check_ytdlp_extras,
    check_ytdlp_view,
)
from services.doctor.feed import check_feed
from services.doctor.media import check_ffmpeg, check_model, check_speech_libraries
from services.doctor.system import (
    check_access,
    check_data_folder,
    check_database,
    check_dns,
    check_python,
    check_redis,
)


def run_checks(settings, engine=None, quick=False):
    """Every check, in the order a reader needs them; quick=True leaves out the slow ones."""
    steps = [check_python, check_ytdlp, check_ytdlp_extras, check_ejs, check_deno]
    if not quick:
        steps += [check_solver_runs, check_ytdlp_view]
    steps += [check_ffmpeg, check_speech_libraries,
              (lambda s: check_model(s, load=not quick)), check_data_folder,
              (lambda s: check_database(engine)), check_access, check_cookies,
              check_download_settings, check_redis, check_feed]
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

