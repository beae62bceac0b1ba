"""Who may use the server: loopback only by default; with `server.auth_token`, token holders.

A browser signs in once (the login page, or `?token=`); its session then keeps an HMAC of the
token (sha256, keyed with the app's secret key), never the token itself, and counts as signed
in only while that HMAC matches the token configured now: changing the token signs everyone
out. Token tries are throttled per client address (webui/throttle.py).
"""
import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for

from routes.errors import api_error, wants_json
from services.config.loading import ConfigError
from services.input_checks import is_loopback
from services.podcast.feed_token import feed_token
from webui.throttle import TryThrottle

OPEN_PATHS = ("/healthz", "/static/", "/login")
# What the feed's own token opens: the feed and the files it links, nothing else.
FEED_PATHS = ("/feed.xml", "/feed/episodes/")
HEADER = "X-Auth-Token"
SESSION_KEY = "auth"
THROTTLE = "login_throttle"
TOO_MANY = "Too many token tries from this address; wait a minute and try again."


def check_bind(host, token):
    """Refuse to listen beyond loopback without an access token."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"Refusing to listen on {host} without server.auth_token: anyone who can "
                          "reach it could start runs. Set server.auth_token (or "
                          "PIPELINE_SERVER_AUTH_TOKEN), or listen on 127.0.0.1.")


def configured_token(app=None):
    """The access token, or None when access is not restricted."""
    settings = (app or current_app).config["PIPELINE"]
    return settings["server"].get("auth_token") or None


def _as_bytes(text):
    # compare_digest refuses str with non-ASCII characters; bytes it takes as they are.
    return str(text).encode("utf-8", "surrogatepass")


def same_secret(sent, expected):
    """Whether two secrets are the same text (constant time, any text, never raises)."""
    return hmac.compare_digest(_as_bytes(sent), _as_bytes(expected))


def token_matches(sent):
    """Whether `sent` is the configured token (constant time, any text, never raises)."""
    token = configured_token()
    if not token or not isinstance(sent, str):
        return False
    return same_secret(sent, token)


def feed_token_matches(sent):
    """Whether `sent` is the feed's read-only token (constant time, never raises)."""
    if not isinstance(sent, str) or not sent:
        return False
    return same_secret(sent, feed_token(current_app.config["PIPELINE"]))


def _token_mac(token):
    """The HMAC-SHA256 of `token` keyed with the app's secret key, as hex."""
    return hmac.new(_as_bytes(current_app.secret_key), _as_bytes(token), hashlib.sha256).hexdigest()


def sign_in():
    """Mark this browser session as holding the configured token."""
    session.pop("authorized", None)
    session[SESSION_KEY] = _token_mac(configured_token())


def session_authorized():
    """Whether this session signed in with the token configured now."""
    token, stored = configured_token(), session.get(SESSION_KEY)
    if not token or not isinstance(stored, str):
        return False
    return same_secret(stored, _token_mac(token))


def header_token():
    """The token sent in X-Auth-Token or `Authorization: Bearer`, or None."""
    bearer = request.headers.get("Authorization", "")
    return request.headers.get(HEADER) or (bearer[7:] if bearer.startswith("Bearer ") else None)


def same_site_path(target):
    """`target` when it is a path on this site, else "/".

    Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil.example"
    and "/<tab>/evil.example" lead to another site; such targets, and any with a scheme, a
    host or a control character, give "/"."""
    if not isinstance(target, str) or not target.startswith("/"):
        return "/"
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in target):
        return "/"
    normalised = target.replace("\\", "/")
    try:
        parts = urlsplit(normalised)
    except ValueError:
        return "/"
    if parts.scheme or parts.netloc or normalised.startswith("//"):
        return "/"
    return target


def request_authorized():
    """A valid token in a header or query, or a session that gave one earlier."""
    return (session_authorized() or token_matches(header_token())
            or token_matches(request.args.get("token")))


def client_address():
    """The address token tries are counted against."""
    return request.remote_addr or "unknown"


def throttle():
    """This app's TryThrottle."""
    return current_app.extensions[THROTTLE]


def _with_retry_after(response):
    response.headers["Retry-After"] = str(throttle().retry_after(client_address()))
    return response


def too_many_tries(as_json, page="error.html", **context):
    """The 429 answer for an address that used up its token tries."""
    if as_json:
        return _with_retry_after(api_error(429, "too_many_tries", TOO_MANY))
    context = context or {"status": 429, "title": "Too many tries", "message": TOO_MANY}
    return _with_retry_after(current_app.make_response((render_template(page, **context), 429)))


def require_token():
    """before_request: with a token configured, refuse what does not carry it.

    The feed's token opens FEED_PATHS only, and never signs a browser in.

    A wrong token in a header or `?token=` counts as a try against the client's address;
    once it has used them all, any token it sends is refused with 429 unchecked."""
    if not configured_token() or request.path.startswith(OPEN_PATHS) or session_authorized():
        return None
    sent = [token for token in (header_token(), request.args.get("token")) if token]
    if sent:
        if throttle().blocked(client_address()):
            return too_many_tries(wants_json() or header_token() is not None)
        if any(token_matches(token) for token in sent):
            if token_matches(request.args.get("token")):
                sign_in()
            return None
        if request.path.startswith(FEED_PATHS) and feed_token_matches(request.args.get("token")):
            return None
        throttle().record(client_address())
    if wants_json():
        return api_error(401, "unauthorized", "Send the access token (X-Auth-Token header).")
    return redirect(url_for("access.login", next=request.full_path))


def login():
    """Ask for the access token once per browser session; every post is a try, and once the
    client's address has used them all the token is not even checked (429)."""
    target = same_site_path(request.args.get("next"))
    error = None
    if request.method == "POST":
        if not throttle().attempt(client_address()):
            return too_many_tries(False, "login.html", error=TOO_MANY, target=target)
        if token_matches(request.form.get("token")):
            sign_in()
            return redirect(target)
        error = "That token is not right."
    return render_template("login.html", error=error, target=target), 400 if error else 200


def init_app(app, login_throttle=None):
    """Install the token check, the login page and its throttle."""
    from flask import Blueprint

    bp = Blueprint("access", __name__)
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    app.extensions[THROTTLE] = login_throttle or TryThrottle()
    app.register_blueprint(bp)
    app.before_request(require_token)
