"""Liveness check."""
from flask import Blueprint, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """{"status": "ok"} while the server answers."""
    return jsonify({"status": "ok"})
