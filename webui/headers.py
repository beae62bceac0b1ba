"""Headers every response carries: no framing by other pages, no type sniffing, no referrer
sent to other sites.

`frame-ancestors 'none'` joins a Content-Security-Policy a route has set (a run's report has
its own sandbox policy) instead of replacing it.
"""
FRAME_ANCESTORS = "frame-ancestors 'none'"
FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def with_frame_ancestors(policy):
    """`policy` with its frame-ancestors directive (if any) replaced by `frame-ancestors 'none'`."""
    directives = [part.strip() for part in (policy or "").split(";")]
    kept = [part for part in directives
            if part and part.split(None, 1)[0].lower() != "frame-ancestors"]
    return "; ".join([*kept, FRAME_ANCESTORS])


def add_security_headers(response):
    """after_request: set the fixed headers and forbid framing."""
    for name, value in FIXED.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = with_frame_ancestors(
        response.headers.get("Content-Security-Policy"))
    return response


def init_app(app):
    """Add the headers to every response the app makes."""
    app.after_request(add_security_headers)
