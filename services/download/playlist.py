"""Playlists, channels and podcast feeds read with yt-dlp's flat extraction (as a library).

Flat extraction lists a playlist's entries (URL, title, and often the length) without
extracting each one. yt-dlp's generic extractor reads RSS feeds too: each item's enclosure
becomes an entry, so a podcast feed is a playlist like any other.

`read_playlist` fetches, so it runs only in the expansion worker (services/workers/expand.py,
started by services/download/expansion.py), where every connection is checked and the memory,
time and bytes read are limited.
"""
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

from services.batches import Entry, ranges_text
from services.download.options import ytdlp_options
from services.input_checks import ValidationError, validate_url

log = logging.getLogger("pipeline")
FEED_SUFFIXES = (".rss", ".xml", ".atom")
FEED_SEGMENTS = ("feed", "rss", "podcast", "atom")
MAX_TITLE = 500
EXPAND_TIMEOUT = 20   # seconds without an answer before reading a playlist gives up


class PlaylistError(ValidationError):
    """The playlist cannot become a batch; `code` says why (the message says what to do)."""

    def __init__(self, message, code, status=400):
        super().__init__("youtube_url", message, code, status)


@dataclass
class Playlist:
    """What flat extraction found: the title, the entries and whether it is a playlist."""

    title: str = None
    entries: list = field(default_factory=list)
    is_playlist: bool = True


@lru_cache(maxsize=1)
def _site_extractors():
    """yt-dlp's site extractors, most specific first (the generic one left out)."""
    from yt_dlp.extractor import gen_extractor_classes

    return [ie for ie in gen_extractor_classes() if ie.ie_key() != "Generic"]


def looks_like_playlist(url):
    """Whether a URL names a playlist, channel or feed, decided without fetching it: yt-dlp's
    first extractor for it lists entries (a YouTube watch page that also names a list stays
    one video, as yt-dlp's noplaylist has it), or its path looks like a feed."""
    parts = urlsplit(url)
    for extractor in _site_extractors():
        if extractor.suitable(url):
            kind = getattr(extractor, "_RETURN_TYPE", None)
            if kind == "playlist":
                return True
            return kind == "any" and "v" not in parse_qs(parts.query)
    path = parts.path.lower().rstrip("/")
    return path.endswith(FEED_SUFFIXES) or path.rsplit("/", 1)[-1] in FEED_SEGMENTS


class _Quiet:
    """yt-dlp's logger: its lines go to the server log, its errors are kept for the message."""

    def __init__(self):
        self.errors = []

    def debug(self, message):
        log.debug("yt-dlp: %s", message)

    def info(self, message):
        log.debug("yt-dlp: %s", message)

    def warning(self, message):
        log.info("yt-dlp (playlist): %s", message)

    def error(self, message):
        self.errors.append(message)


def _entry_url(raw):
    from yt_dlp.utils import unsmuggle_url

    url = raw.get("url") or raw.get("webpage_url")
    if not isinstance(url, str):
        return None
    url, _data = unsmuggle_url(url)
    if not url.startswith(("http://", "https://")) and raw.get("ie_key"):
        url = raw.get("webpage_url") if isinstance(raw.get("webpage_url"), str) else None
    return url


def _is_media(url):
    """Whether a generic page's entry is media (a file with a media extension, or a page a
    specific extractor handles) rather than a feed item's link to an article."""
    from yt_dlp.utils import KNOWN_EXTENSIONS, determine_ext

    if determine_ext(url, default_ext="") in KNOWN_EXTENSIONS:
        return True
    return any(extractor.suitable(url) for extractor in _site_extractors())


def _duration(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value < 10 ** 7 else None


def read_playlist(url, settings, positions=None, limit=50):
    """The entries of a playlist, channel or feed URL (at most `limit` + 1 are fetched, so a
    longer one is noticed); PlaylistError when it cannot be read. `settings` holds the
    `download` section, `data_dir` and `block_private`."""
    import yt_dlp

    block_private = bool(settings.get("block_private"))
    quiet = _Quiet()
    options = ytdlp_options(settings["download"], settings["data_dir"])
    # A page is read while the request waits: fail fast rather than retry for minutes.
    options.update(extract_flat="in_playlist", skip_download=True, noplaylist=False,
                   quiet=True, no_warnings=False, logger=quiet, retries=1, extractor_retries=0,
                   socket_timeout=min(options["socket_timeout"], EXPAND_TIMEOUT),
                   playlist_items=ranges_text(positions) if positions else f"1-{limit + 1}")
    options.pop("format", None)
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
    except yt_dlp.utils.DownloadError as exc:
        said = (quiet.errors[-1] if quiet.errors else str(exc)).replace("ERROR: ", "")
        raise PlaylistError(f"The playlist could not be read: {said[:300]}",
                            "playlist_unreadable") from None
    if not isinstance(info, dict):
        raise PlaylistError("The playlist could not be read.", "playlist_unreadable")
    if info.get("_type") != "playlist":
        return Playlist(title=info.get("title"), is_playlist=False)
    raw_entries = [raw for raw in info.get("entries") or [] if isinstance(raw, dict)]
    if not raw_entries:
        raise PlaylistError("The playlist, channel or feed has no entries"
                            + (" at the positions given." if positions else "."),
                            "empty_playlist")
    generic = info.get("extractor_key") == "Generic"
    entries, refused = [], None
    for raw in raw_entries:
        if raw.get("_type") == "playlist" or raw.get("ie_key") in ("YoutubeTab",):
            continue   # a channel's tabs are playlists themselves: name the tab instead
        entry_url = _entry_url(raw)
        if entry_url is None or (generic and not _is_media(entry_url)):
            continue
        try:
            entry_url = validate_url(entry_url, block_private)
        except ValidationError as exc:
            refused = exc.message
            continue
        title = raw.get("title") if isinstance(raw.get("title"), str) else None
        entries.append(Entry(entry_url, title[:MAX_TITLE] if title else None,
                             _duration(raw.get("duration"))))
    if not entries:
        if refused:
            raise PlaylistError(f"No entry of the playlist can be fetched: {refused}",
                                "refused_address")
        if generic:
            raise PlaylistError("The feed lists no media: none of its items has an enclosure "
                                "(an audio or video file).", "no_media")
        raise PlaylistError("The playlist has no videos that can be run (a channel's front page "
                            "lists its tabs: give its /videos page).", "no_media")
    title = info.get("title") if isinstance(info.get("title"), str) else None
    return Playlist(title=title[:MAX_TITLE] if title else None, entries=entries)
