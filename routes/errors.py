"""JSON errors of the shape {"error": {"code", "message", "field"}} for API paths."""
import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
API_PREFIXES = ("/api/", "/pipeline/", "/healthz")


def api_error(status, code, message, field=None):
    """A JSON error response."""
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    return response


def wants_json():
    """Whether the request is for the JSON API rather than a page."""
    return request.path.startswith(API_PREFIXES)


def register(app):
    """Answer HTTP errors as JSON on API paths and as a page elsewhere."""

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        if wants_json():
            return api_error(exc.code, code, exc.description)
        return render_template("error.html", status=exc.code, title=exc.name,
                               message=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        log.error("Unhandled error on %s %s", request.method, request.path, exc_info=exc)
        if wants_json():
            return api_error(500, "internal_error", "Something went wrong on the server.")
        return render_template("error.html", status=500, title="Server error",
                               message="Something went wrong on the server."), 500
