"""CSRF tokens for HTML forms: one per browser session, checked on every form post.

JSON requests need no token: a cross-site page cannot send `application/json` without a
CORS preflight, which this server never grants.
"""
import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def csrf_token():
    """This session's token (made on first use), for `<input name="csrf_token">`."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_csrf():
    """Refuse a cross-site request (403) and a form post without this session's token (400)."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
        abort(403, description="Requests from other sites are refused.")
    if request.mimetype not in FORM_TYPES:
        return
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    expected = session.get(FIELD, "")
    # as bytes: compare_digest raises on text with non-ASCII characters
    if not expected or not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"),
                                               expected.encode("utf-8")):
        abort(400, description="The form has expired or did not come from this site; reload the page and try again.")


def init_app(app):
    """Check tokens before every request and offer `csrf_token()` to templates."""
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
