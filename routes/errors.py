"""JSON errors of the shape {"error": {"code", "message", "field"}} for API paths."""
import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

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


def prefers_html():
    """Whether the client asks for a page rather than JSON. A browser's navigation lists
    text/html first and types such as application/signed-exchange after it; a program's */*
    takes JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def unknown_run():
    """The 404 JSON answer for a session id no run has."""
    return api_error(404, "unknown_run", "There is no run with this session_id.", "session_id")


def unknown_batch():
    """The 404 JSON answer for an id no batch has."""
    return api_error(404, "unknown_batch", "There is no batch with this batch_id.", "batch_id")


class UnknownId(NotFound):
    """A 404 for an id that names nothing: `answer()` on the API or with `api`, else the page."""

    def __init__(self, description, answer, api=False):
        super().__init__(description)
        self.answer = answer
        self.api = api


def register(app):
    """Answer HTTP errors as JSON on API paths and as a page elsewhere."""

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if isinstance(exc, UnknownId) and (exc.api or wants_json()):
            return exc.answer()
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
