"""The doctor: each component the pipeline needs, with ok, warn or fail and the fix."""
import threading
import time

from flask import Blueprint, current_app, jsonify, render_template, request

from services.doctor.checks import FAIL, run_checks, summarize
from storage.database import db

bp = Blueprint("doctor", __name__)
BANNER_MAX_AGE = 300  # seconds a quick report is reused for the dashboard's banner
_banner_lock = threading.Lock()


def _checks(quick=False):
    return run_checks(current_app.config["PIPELINE"], db.engine, quick=quick)


def failing_components():
    """Names of the components that fail the quick checks (cached for the dashboard banner)."""
    cache = current_app.extensions.setdefault("doctor_banner", {})
    with _banner_lock:
        if time.monotonic() - cache.get("at", -BANNER_MAX_AGE) >= BANNER_MAX_AGE:
            cache["failing"] = [c.component for c in _checks(quick=True) if c.status == FAIL]
            cache["at"] = time.monotonic()
        return list(cache["failing"])


def _remember(checks):
    """A full report also refreshes the banner, so a fixed problem stops showing at once."""
    cache = current_app.extensions.setdefault("doctor_banner", {})
    with _banner_lock:
        cache["failing"] = [c.component for c in checks if c.status == FAIL]
        cache["at"] = time.monotonic()


@bp.get("/doctor")
def page():
    """Every check, run now."""
    checks = _checks()
    _remember(checks)
    return render_template("doctor.html", checks=checks, summary=summarize(checks))


@bp.get("/api/doctor")
def report():
    """The same as JSON; `?quick=1` leaves out the slow checks."""
    quick = request.args.get("quick") in ("1", "true", "yes")
    checks = _checks(quick=quick)
    if not quick:
        _remember(checks)
    return jsonify({"summary": summarize(checks), "checks": [c.as_dict() for c in checks]})
