"""The Host check (SPEC §4): a request for a name this server does not go by is refused with
400, so a page on another site cannot reach the dashboard through DNS rebinding.

Allowed: loopback names and addresses, the address the server is bound to (unless it is a
wildcard such as 0.0.0.0), and `server.allowed_hosts`. The port is not compared.
"""
import ipaddress

from flask import render_template, request

from routes.errors import api_error, wants_json

WILDCARDS = ("", "0.0.0.0", "::", "[::]")
LOOPBACK_NAMES = ("localhost",)


def host_name(header):
    """The lower-case host of a Host header ("name", "name:port", "[v6]:port"), or None when
    it is malformed."""
    if not isinstance(header, str) or not header or len(header) > 255 or not header.isascii():
        return None
    text = header.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1:]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        name, _, port = text.partition(":")
        rest = ":" + port if port else ""
        if ":" in port:
            return None   # an IPv6 address without brackets
    if rest:
        port = rest[1:] if rest.startswith(":") else None
        if port is None or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            return None
    if not name or any(not (ch.isalnum() or ch in "-._:") for ch in name):
        return None
    return name.rstrip(".")


def allowed_names(settings):
    """The host names this server answers to, lower case."""
    server = settings.get("server") or {}
    names = set(LOOPBACK_NAMES)
    bound = str(server.get("host") or "").strip().lower().strip("[]")
    if bound not in WILDCARDS:
        names.add(bound)
    for name in server.get("allowed_hosts") or []:
        if isinstance(name, str) and name.strip():
            names.add(name.strip().lower().strip("[]").rstrip("."))
    return names


def host_allowed(header, names):
    """Whether a Host header names this server."""
    name = host_name(header)
    if name is None:
        return False
    if name in names:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def init_app(app):
    """Refuse requests for other host names before anything else looks at them."""
    names = allowed_names(app.config["PIPELINE"])
    app.extensions["allowed_hosts"] = names

    @app.before_request
    def check_host():
        if host_allowed(request.headers.get("Host"), names):
            return None
        message = ("This server does not answer to that host name. Open it at its own address "
                   "(e.g. http://127.0.0.1:5000), or add the name to server.allowed_hosts.")
        if wants_json():
            return api_error(400, "bad_host", message, "Host")
        return render_template("error.html", status=400, title="Unknown host",
                               message=message), 400
