"""CSRF: every state-changing request (POST, PUT, PATCH, DELETE) must come from this site.

Checked before every request, in this order (docs/security.md):

1. `Origin`, when sent, is this server's own origin (scheme://host[:port]); anything else,
   `null` included, is refused.
2. `Sec-Fetch-Site`, when sent, is `same-origin` or `none`.
3. The request carries something a page on another site cannot forge: a JSON body (a page
   cannot send `application/json` without a CORS preflight, which this server never grants),
   this session's token in the `X-CSRF-Token` header or the `csrf_token` form field, or the
   access token in `X-Auth-Token` / `Authorization: Bearer` (a custom header needs a preflight
   too).

Programs send neither Origin nor Sec-Fetch-Site: a JSON body or a token header is enough.
A refusal is a 403: JSON on the API, the error page elsewhere.
"""
import secrets

from flask import render_template, request, session

from routes.errors import api_error, wants_json
from webui.access import header_token, same_secret, token_matches

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SAME_SITE_FETCHES = ("same-origin", "none")
DEFAULT_PORTS = {"http": ":80", "https": ":443"}
CROSS_SITE = "cross_site_request"
NO_TOKEN = "csrf_token_missing"
MESSAGES = {
    CROSS_SITE: "Requests from other sites are refused.",
    NO_TOKEN: ("The request did not show it came from this site; reload the page and try again "
               "(programs: send a JSON body, or the access token in X-Auth-Token)."),
}


def csrf_token():
    """This session's token (made on first use), for `<input name="csrf_token">` and the
    `csrf-token` meta tag the page scripts read."""
    if not isinstance(session.get(FIELD), str):
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def _origin(text):
    """`scheme://host[:port]` in lower case, with the scheme's default port dropped."""
    text = text.strip().rstrip("/").lower()
    scheme = text.partition("://")[0]
    default = DEFAULT_PORTS.get(scheme)
    return text[:-len(default)] if default and text.endswith(default) else text


def own_origin():
    """This server's origin as the request reached it."""
    return _origin(f"{request.scheme}://{request.host}")


def _session_token_sent():
    """Whether the X-CSRF-Token header or the csrf_token form field is this session's token."""
    expected = session.get(FIELD)
    if not isinstance(expected, str) or not expected:
        return False
    sent = request.headers.get(HEADER)
    if not sent and request.mimetype in FORM_TYPES:
        sent = request.form.get(FIELD)
    return isinstance(sent, str) and bool(sent) and same_secret(sent, expected)


def refusal():
    """Why this request must be refused (CROSS_SITE or NO_TOKEN), or None when it may go on."""
    if request.method not in STATE_CHANGING:
        return None
    origin = request.headers.get("Origin")
    if origin is not None and _origin(origin) != own_origin():
        return CROSS_SITE
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_SITE_FETCHES:
        return CROSS_SITE
    if request.mimetype == "application/json":
        return None
    if _session_token_sent() or token_matches(header_token()):
        return None
    return NO_TOKEN


def _wants_json_answer():
    """JSON for the API, for JSON requests and for scripts that ask for JSON."""
    return (wants_json() or request.mimetype == "application/json"
            or request.accept_mimetypes.best == "application/json")


def check_csrf():
    """before_request: refuse (403) a state-changing request that may come from another site."""
    code = refusal()
    if code is None:
        return None
    if _wants_json_answer():
        return api_error(403, code, MESSAGES[code])
    return render_template("error.html", status=403, title="Request refused",
                           message=MESSAGES[code]), 403


def init_app(app):
    """Check every request and offer `csrf_token()` to templates."""
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
