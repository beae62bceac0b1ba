"""yt-dlp's failures, as a sentence that says what happened and what to do.

`explain(exc)` takes yt-dlp's exception (or its text) and returns a code and a message for the
stage error. yt-dlp's own text is kept for the log; the user reads the explanation first.
"""
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

COOKIES_HOWTO = ("export cookies from a browser signed in to YouTube (Netscape format, e.g. with "
                 "a cookies.txt browser extension) and save them as cookies.txt in the data "
                 "folder (setting download.cookies_file)")
COOKIES_STALE = ("The cookies file in use did not get through: its account may be signed out, or "
                 "YouTube rotated the cookies. Export fresh cookies from a browser signed in to "
                 "YouTube and replace the file")


@dataclass(frozen=True)
class Explanation:
    """A failure's code (stable, for programs) and its sentence for the user."""

    code: str
    message: str


def live_not_ended():
    """A live stream or premiere that has not ended: there is nothing to download yet."""
    return Explanation("live_not_ended", (
        "This is a live stream or premiere that has not ended yet, so there is no recording "
        "to download. Try again once it has ended and the site has published the recording."))


def _strip(text):
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text or ""))
    text = re.sub(r"^(?:ERROR:\s*)?(?:\[[\w:.-]+\]\s*)?(?:[\w-]{1,64}:\s+)?", "", text.strip())
    return text.strip()


def _chain(exc):
    """The exception and everything it wraps (yt-dlp's exc_info and cause, Python's __cause__)."""
    seen, todo = [], [exc]
    while todo and len(seen) < 10:
        item = todo.pop(0)
        if item is None or not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        info = getattr(item, "exc_info", None)
        if isinstance(info, tuple) and len(info) > 1:
            todo.append(info[1])
        todo.extend([getattr(item, "cause", None), item.__cause__, item.__context__])
    return seen


def _http_response(exc):
    """(status, headers) of the first HTTP error in the chain, or (None, {})."""
    for item in _chain(exc):
        response = getattr(item, "response", None)
        status = getattr(item, "status", None) or getattr(response, "status", None)
        if isinstance(status, int) and 400 <= status <= 599:
            headers = getattr(response, "headers", None) or {}
            return status, headers
    return None, {}


def retry_after_seconds(value, now=None):
    """Seconds from a Retry-After header (a number of seconds or an HTTP date); None if unusable."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,9}", value, re.ASCII):
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0, int(when.timestamp() - (now if now is not None else time.time())))


def human_wait(seconds):
    """'about 30 seconds', 'about 5 minutes', 'about 2 hours'."""
    if seconds < 90:
        return f"about {max(int(seconds), 1)} second{'s' if int(seconds) != 1 else ''}"
    if seconds < 55 * 60:
        return f"about {round(seconds / 60)} minutes"
    hours = round(seconds / 3600)
    return "about an hour" if hours <= 1 else f"about {hours} hours"


def _host(url):
    try:
        return urlsplit(url or "").hostname or "the site"
    except ValueError:
        return "the site"


def _rate_limited(status, headers, text):
    retry = retry_after_seconds(headers.get("Retry-After") if hasattr(headers, "get") else None)
    if retry is not None:
        wait = human_wait(retry)
    elif "try again later" in text or "rate-limited" in text:
        wait = "up to an hour"
    else:
        wait = "a few minutes"
    return Explanation("rate_limited", (
        f"The site is limiting requests from this machine (HTTP 429 Too Many Requests). Wait "
        f"{wait} before trying again. To avoid it, run fewer downloads at once, set "
        f"download.rate_limit, use a cookies file or a proxy (download.proxy)."))


@dataclass(frozen=True)
class _Failure:
    """What `explain` reads from one failure: yt-dlp's text, lower-cased, and its HTTP status."""

    exc: object
    raw: str
    text: str
    status: object
    headers: object
    url: object
    cookies_in_use: bool


def _failure(exc, url, cookies_in_use):
    raw = _strip(exc if isinstance(exc, str) else str(exc))
    text = raw.lower().replace("\u2019", "'")
    status, headers = (None, {}) if isinstance(exc, str) else _http_response(exc)
    if status is None:
        match = re.search(r"http error ([0-9]{3})", text, re.ASCII)
        status = int(match.group(1)) if match else None
    return _Failure(exc, raw, text, status, headers, url, cookies_in_use)


def _text(pattern):
    """A test that finds `pattern` in the failure's lower-cased text."""
    return lambda failure: re.search(pattern, failure.text)


def _fixed(code, message):
    """A builder for an explanation that does not depend on the failure."""
    return lambda failure, found: Explanation(code, message)


def _geo_blocked(failure):
    if not isinstance(failure.exc, str) and any(
            type(item).__name__ == "GeoRestrictedError" for item in _chain(failure.exc)):
        return True
    return re.search(r"not made this video available in your country|not available from "
                     r"your location|geo.?restrict|blocked it in your country|"
                     r"not available in your country", failure.text)


def _bot_check(failure, found):
    return Explanation("bot_check", (
        "YouTube asked to confirm this is not a bot, as it does for traffic it finds "
        "suspicious (often from servers, VPNs or many downloads in a row). "
        + (COOKIES_STALE + ", or " if failure.cookies_in_use else
           f"Either {COOKIES_HOWTO}, or ")
        + "set download.proxy to a proxy on another network."))


def _age_restricted(failure, found):
    return Explanation("age_restricted", (
        "This video is age-restricted: YouTube shows it only to signed-in adults. "
        + ("The cookies file in use did not get through: its account may be signed out or "
           "not confirmed as an adult. Export fresh cookies from a browser signed in to an "
           "adult account and replace the file." if failure.cookies_in_use else
           f"Add a cookies file: {COOKIES_HOWTO}, from an account that is confirmed as an adult.")))


def _members_only(failure, found):
    return Explanation("members_only", (
        "This video is for the channel's members only. "
        + ("The cookies file in use is not from a member's account, or is out of date. "
           if failure.cookies_in_use else "")
        + f"To download it, {COOKIES_HOWTO}, from an account that is a member of the channel."))


def _forbidden(failure, found):
    host = _host(failure.url)
    return Explanation("forbidden", (
        f"{host} refused the download (HTTP 403 Forbidden). With YouTube this most "
        "often means yt-dlp is out of date or its JavaScript challenge was not solved: run "
        "`python run.py doctor` and check that yt-dlp, yt-dlp-ejs and Deno are ok, update "
        f"yt-dlp if it is old, and try again. For other sites, {host} may need a "
        "cookies file or may block this network."))


def _no_network(failure, found):
    return Explanation("no_network", (
        f"No network: the name {_host(failure.url)} could not be resolved. Check that this machine "
        "is connected to the internet and its DNS works (and, if one is set, that the "
        "proxy in download.proxy is reachable), then try again."))


def _connection_failed(failure, found):
    return Explanation("connection_failed", (
        f"Could not get a connection to {_host(failure.url)} ({found.group(0)}). Check the URL, "
        "this machine's network and the proxy setting (download.proxy), then try again."))


def _not_found(failure, found):
    return Explanation("not_found", (
        f"{_host(failure.url)} answered HTTP {failure.status} (not found): the link is wrong or "
        "the media was removed. Open the URL in a browser to check it."))


def _login_required(failure, found):
    fix = COOKIES_STALE if failure.cookies_in_use else f"To download it, {COOKIES_HOWTO}"
    return Explanation("login_required", (
        f"The site wants a signed-in account for this media. {fix}."))


def _server_error(failure, found):
    return Explanation("server_error", (
        f"{_host(failure.url)} had an error of its own (HTTP {failure.status}). Try again later."))


# (test, builder), first match wins: a test takes the _Failure and returns something true when
# it applies; the builder takes the _Failure and that result and returns the Explanation.
_RULES = (
    (_text(r"not a bot"), _bot_check),
    (_text(r"confirm your age|age[- ]restricted|inappropriate for some users|age.gate"),
     _age_restricted),
    (_text(r"members[- ]only|channel's members|join this channel|members on level"),
     _members_only),
    (_geo_blocked, _fixed("geo_blocked", (
        "The video is blocked in the country this server connects from. Set download.proxy "
        "to a proxy in a country where it is available, then try again."))),
    (_text(r"live event will begin|premieres? in |premiere will begin|will begin shortly|"
           r"this live stream recording is not available|is not currently live|"
           r"live stream has not (?:ended|finished)|scheduled to start|waiting for (?:the )?"
           r"(?:live|scheduled)"), lambda failure, found: live_not_ended()),
    (_text(r"private video|video is private"), _fixed("private_video", (
        "This video is private: only accounts the uploader shared it with can watch it. If "
        f"yours is one of them, {COOKIES_HOWTO}. Otherwise ask the uploader to make it "
        "public or unlisted."))),
    (_text(r"video unavailable|has been removed|no longer available|been terminated|"
           r"does not exist|removed for violating|copyright claim|video is unavailable"),
     _fixed("video_unavailable", (
         "This video is unavailable: it was removed or made unavailable by the uploader or the "
         "site, or the link is wrong. Open the URL in a browser to check it."))),
    (_text(r"drm protected|drm-protected"), _fixed("drm_protected", (
        "This media is DRM-protected, and yt-dlp does not download DRM-protected media. "
        "Use a source without DRM."))),
    (lambda failure: (failure.status == 429 or "too many requests" in failure.text
                      or "try again later" in failure.text),
     lambda failure, found: _rate_limited(failure.status, failure.headers, failure.text)),
    (lambda failure: failure.status == 403 or "403: forbidden" in failure.text, _forbidden),
    (_text(r"name or service not known|temporary failure in name resolution|"
           r"nodename nor servname|getaddrinfo failed|no address associated with hostname|"
           r"failed to resolve|name resolution"), _no_network),
    (_text(r"connection refused|network is unreachable|no route to host|timed out|"
           r"connection reset|remote end closed connection"), _connection_failed),
    (lambda failure: failure.status == 404 or failure.status == 410, _not_found),
    (_text(r"sign in|log in|login required|registered users|authentication"), _login_required),
    (_text(r"n challenge|signature (?:extraction|solving)|javascript runtime|"
           r"challenge solver|only images are available|requested format is not available"),
     _fixed("formats_missing", (
         "yt-dlp found no downloadable format. With YouTube this usually means its JavaScript "
         "challenge was not solved: run `python run.py doctor` (Deno and yt-dlp-ejs must be "
         "ok) and update yt-dlp if it is old. Otherwise check download.format."))),
    (_text(r"unsupported url"), _fixed("unsupported_url", (
        "yt-dlp found no media at this URL. Give the address of a video page or of a media "
        "file."))),
    (lambda failure: failure.status is not None and 500 <= failure.status <= 599, _server_error),
)


def explain(exc, url=None, cookies_in_use=False):
    """An Explanation for a yt-dlp exception or message; code "download_failed" when unknown."""
    failure = _failure(exc, url, cookies_in_use)
    for test, build in _RULES:
        found = test(failure)
        if found:
            return build(failure, found)
    return Explanation("download_failed",
                       f"Download failed: {failure.raw[:1000] or 'yt-dlp gave no reason'}")
