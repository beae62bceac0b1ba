"""Who may use the server: loopback only by default; with `server.auth_token`, token holders."""
import hmac
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for

from routes.errors import api_error, wants_json
from services.config.loading import ConfigError
from services.input_checks import is_loopback

OPEN_PATHS = ("/healthz", "/static/", "/login")
HEADER = "X-Auth-Token"


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


def token_matches(sent):
    """Whether `sent` is the configured token (constant time, any text, never raises)."""
    token = configured_token()
    if not token or not isinstance(sent, str):
        return False
    # compare_digest refuses str with non-ASCII characters; bytes it takes as they are.
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"),
                               str(token).encode("utf-8", "surrogatepass"))


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
    if session.get("authorized"):
        return True
    bearer = request.headers.get("Authorization", "")
    sent = request.headers.get(HEADER) or (bearer[7:] if bearer.startswith("Bearer ") else None)
    return token_matches(sent) or token_matches(request.args.get("token"))


def require_token():
    """before_request: with a token configured, refuse what does not carry it."""
    if not configured_token() or request.path.startswith(OPEN_PATHS):
        return None
    if request_authorized():
        if request.args.get("token"):
            session["authorized"] = True
        return None
    if wants_json():
        return api_error(401, "unauthorized", "Send the access token (X-Auth-Token header).")
    return redirect(url_for("access.login", next=request.full_path))


def init_app(app):
    """Install the token check and the login page."""
    from flask import Blueprint

    bp = Blueprint("access", __name__)

    @bp.route("/login", methods=["GET", "POST"])
    def login():
        """Ask for the access token once per browser session."""
        target = same_site_path(request.args.get("next"))
        error = None
        if request.method == "POST":
            if token_matches(request.form.get("token")):
                session["authorized"] = True
                return redirect(target)
            error = "That token is not right."
        return render_template("login.html", error=error, target=target), 400 if error else 200

    app.register_blueprint(bp)
    app.before_request(require_token)
