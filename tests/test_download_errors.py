"""Each failure a YouTube user commonly meets reads as a sentence with a fix.

The exceptions are yt-dlp's own: the network cases come from real requests (a loopback server
answering 403 or 429, a name that does not resolve); the YouTube cases are raised by yt-dlp's
machinery from the playability reasons YouTube sends, composed as yt-dlp's YouTube extractor
composes them (its login hint included), inside a real YoutubeDL made with the pipeline's options.
"""
import http.server
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import yt_dlp
from hypothesis import given, settings
from hypothesis import strategies as st
from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.extractor.youtube import YoutubeIE
from yt_dlp.utils import DownloadError, clean_html, remove_end

from services.config.loading import load_settings
from services.download.errors import explain, human_wait, retry_after_seconds
from services.download.options import ytdlp_options
from tests.server_support import loopback_http

FIXTURES = Path(__file__).parent / "fixtures"

# (reason, subreason) as YouTube's player response gives them.
YOUTUBE_CASES = {
    "privateVid1": ("Private video", "Sign in if you've been granted access to this video"),
    "removedVid1": ("Video unavailable", "This video has been removed by the uploader"),
    "terminated1": ("Video unavailable", "This video is no longer available because the YouTube "
                    "account associated with this video has been terminated."),
    "ageGatedV01": ("Sign in to confirm your age", "This video may be inappropriate for some users."),
    "membersOnly": ("Join this channel to get access to members-only content like this video, "
                    "and other exclusive perks.", None),
    "geoBlocked1": ("Video unavailable",
                    "The uploader has not made this video available in your country"),
    "botCheckVid": ("Sign in to confirm you\u2019re not a bot",
                    "This helps protect our community. Learn more"),
    "upcomingLiv": ("This live event will begin in 3 hours.", None),
    "premiereVid": ("Premieres in 10 hours", None),
    "rateLimited": ("This content isn't available, try again later.", None),
}
EXPECTED = {
    "privateVid1": ("private_video", "private", "cookies"),
    "removedVid1": ("video_unavailable", "unavailable", "browser"),
    "terminated1": ("video_unavailable", "unavailable", "browser"),
    "ageGatedV01": ("age_restricted", "age-restricted", "cookies file"),
    "membersOnly": ("members_only", "members only", "member of the channel"),
    "geoBlocked1": ("geo_blocked", "blocked in the country", "download.proxy"),
    "botCheckVid": ("bot_check", "not a bot", "cookies"),
    "upcomingLiv": ("live_not_ended", "has not ended", "Try again"),
    "premiereVid": ("live_not_ended", "has not ended", "Try again"),
    "rateLimited": ("rate_limited", "429", "up to an hour"),
}


class PlayabilityIE(InfoExtractor):
    """Fails the way yt-dlp's YouTube extractor fails on an unplayable video (see its
    `_real_extract`: reason, subreason, the geo branch and the sign-in hint)."""

    IE_NAME = "youtube"
    _VALID_URL = r"https?://www\.youtube\.com/watch\?v=(?P<id>[0-9A-Za-z_-]{11})"

    def _real_extract(self, url):
        video_id = self._match_id(url)
        reason, subreason = YOUTUBE_CASES[video_id]
        subreason = clean_html(subreason) if subreason else None
        if subreason:
            if subreason.startswith("The uploader has not made this video available in your country"):
                self.raise_geo_restricted(subreason, None, metadata_available=True)
            if subreason != reason:
                reason += f". {subreason}"
        if "sign in" in reason.lower():
            reason = remove_end(reason, "This helps protect our community. Learn more")
            reason = f"{remove_end(reason.strip(), '.')}. {YoutubeIE(self._downloader)._youtube_login_hint}"
        self.raise_no_formats(reason, expected=True)


def youtube_failure(video_id):
    settings = load_settings()
    options = ytdlp_options(settings["download"], settings["data_dir"])
    options.update(quiet=True, no_warnings=True, logger=_Silent())
    with yt_dlp.YoutubeDL(options, auto_init=False) as ydl:
        ydl.add_info_extractor(PlayabilityIE(ydl))
        with pytest.raises(DownloadError) as caught:
            ydl.extract_info(f"https://www.youtube.com/watch?v={video_id}", download=False,
                             ie_key="Playability")
    return caught.value


class _Silent:
    def debug(self, message):
        pass

    info = warning = error = debug


@pytest.mark.parametrize("video_id", sorted(YOUTUBE_CASES))
def test_youtube_failures_are_explained(video_id):
    exc = youtube_failure(video_id)
    raw = str(exc)
    assert raw.startswith("ERROR: [youtube]")  # yt-dlp's own wrapping, not a hand-made string
    code, what, fix = EXPECTED[video_id]
    explained = explain(exc, f"https://www.youtube.com/watch?v={video_id}")
    assert explained.code == code, raw
    assert what.lower() in explained.message.lower()
    assert fix.lower() in explained.message.lower()
    assert "--cookies" not in explained.message  # yt-dlp's command-line advice is not ours to give
    assert "ERROR:" not in explained.message


def test_advice_changes_when_cookies_were_already_used():
    exc = youtube_failure("ageGatedV01")
    without = explain(exc).message
    with_cookies = explain(exc, cookies_in_use=True).message
    assert "Add a cookies file" in without
    assert "cookies file in use did not get through" in with_cookies
    bot = explain(youtube_failure("botCheckVid"), cookies_in_use=True).message
    assert "Export fresh cookies" in bot and "download.proxy" in bot


class StatusHandler(http.server.BaseHTTPRequestHandler):
    """Answers /403, /429 (with Retry-After from the query) and /429-date with that status."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.strip("/")
        status = int(path[:3])
        self.send_response(status)
        if path.startswith("429?after="):
            self.send_header("Retry-After", path.split("=", 1)[1])
        elif path.startswith("429-date"):
            later = datetime.now(timezone.utc) + timedelta(minutes=20)
            self.send_header("Retry-After", format_datetime(later, usegmt=True))
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def status_server():
    with loopback_http(StatusHandler) as url:
        yield url


def network_failure(url):
    settings = load_settings(overrides={"download": {"retries": 0}})
    options = ytdlp_options(settings["download"], settings["data_dir"])
    options.update(quiet=True, no_warnings=True, logger=_Silent())
    with yt_dlp.YoutubeDL(options) as ydl:
        with pytest.raises(DownloadError) as caught:
            ydl.extract_info(url, download=False)
    return caught.value


def test_http_403_is_explained(status_server):
    url = f"{status_server}/403/video.mp4"
    explained = explain(network_failure(url), url)
    assert explained.code == "forbidden"
    assert "HTTP 403" in explained.message and "run.py doctor" in explained.message


@pytest.mark.parametrize("after, wait", [("120", "about 2 minutes"), ("5400", "about 2 hours"),
                                         ("30", "about 30 seconds")])
def test_http_429_gives_the_retry_time(status_server, after, wait):
    url = f"{status_server}/429?after={after}"
    explained = explain(network_failure(url), url)
    assert explained.code == "rate_limited"
    assert f"Wait {wait}" in explained.message


def test_http_429_with_a_date_and_without_a_header(status_server):
    url = f"{status_server}/429-date"
    assert "Wait about 20 minutes" in explain(network_failure(url), url).message
    url = f"{status_server}/429/plain.mp4"
    assert "Wait a few minutes" in explain(network_failure(url), url).message


def test_no_network_is_explained():
    url = "http://no-such-host.invalid/talk.mp4"  # .invalid never resolves (RFC 2606)
    explained = explain(network_failure(url), url)
    assert explained.code == "no_network"
    assert "no-such-host.invalid could not be resolved" in explained.message
    assert "internet" in explained.message


def test_refused_connection_is_explained():
    from tests.server_support import free_port

    url = f"http://127.0.0.1:{free_port()}/talk.mp4"
    explained = explain(network_failure(url), url)
    assert explained.code == "connection_failed"
    assert "connection refused" in explained.message


def test_unknown_failures_keep_yt_dlps_words():
    explained = explain("ERROR: [generic] abc: Something nobody has seen before")
    assert explained.code == "download_failed"
    assert explained.message == "Download failed: Something nobody has seen before"


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(" 7 ") == 7
    assert retry_after_seconds("\u00b2") is None        # a digit to isdigit(), not to int()
    assert retry_after_seconds("\u0661\u0662") is None  # Arabic-Indic digits
    assert retry_after_seconds("-5") is None
    assert retry_after_seconds("9" * 40) is None
    assert retry_after_seconds(None) is None
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=600), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == 600
    assert human_wait(1) == "about 1 second"
    assert human_wait(3600) == "about an hour"


@settings(max_examples=300, deadline=None)
@given(st.text(), st.one_of(st.none(), st.text(), st.from_regex(r"https?://[^/]{0,30}/.*")),
       st.booleans())
def test_explain_takes_any_text(message, url, cookies_in_use):
    explained = explain(message, url, cookies_in_use)
    assert explained.code and explained.message


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.integers(min_value=-2 ** 80, max_value=2 ** 80), st.none()))
def test_retry_after_takes_any_header(value):
    result = retry_after_seconds(value if not isinstance(value, int) else str(value))
    assert result is None or (isinstance(result, int) and result >= 0)


# --- through the pipeline: the stage error is the explanation, with its code -----------------

def run_stage_1(live_server, client, url):
    """Stage 1 of `url`, followed to its end: (final snapshot, its pipeline_error events)."""
    import uuid

    from tests.conftest import follow_run

    run = follow_run(live_server, url, [1], episode=f"errors-{uuid.uuid4().hex[:8]}",
                     timeout=120, socket=False)
    errors = [e["data"] for e in run["stored"] if e["event"] == "pipeline_error"]
    return run["snapshot"], errors


def test_a_live_stream_that_has_not_ended_is_refused(live_server, client, tmp_path):
    import subprocess

    from tests.media_support import MediaServer, ffmpeg

    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(FIXTURES / "speech.mp4"), "-vn", "-c:a", "copy", "-f", "hls",
                    "-hls_time", "4", "-hls_list_size", "0", str(tmp_path / "live.m3u8")], check=True)
    playlist = tmp_path / "live.m3u8"
    playlist.write_text(playlist.read_text().replace("#EXT-X-ENDLIST\n", ""))  # still on air
    server = MediaServer(tmp_path)
    try:
        snapshot, errors = run_stage_1(live_server, client, f"{server.url}/live.m3u8")
    finally:
        server.close()
    assert snapshot["state"] == "failed"
    assert "live stream or premiere that has not ended" in snapshot["error"]
    assert errors[0]["error"]["code"] == "live_not_ended" and errors[0]["recoverable"]


def test_a_forbidden_download_fails_with_the_explanation(live_server, client, status_server):
    snapshot, errors = run_stage_1(live_server, client, f"{status_server}/403/talk.mp4")
    assert snapshot["state"] == "failed"
    assert snapshot["error"].startswith("127.0.0.1 refused the download (HTTP 403 Forbidden)")
    assert errors[0]["error"]["code"] == "forbidden"
    assert snapshot["stages"][0]["error"] == snapshot["error"]
