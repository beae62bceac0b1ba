"""The podcast feed: produced episodes as RSS 2.0 with the iTunes and Podcasting 2.0 tags.

An episode is an episode folder whose newest completed run left `episode.m4a` or
`episode.mp3` (stage 6). Its identity is the folder's: the guid and first publication date
come from `publication.json` (services/podcast/identity.py) and its URLs name the folder
(`/feed/episodes/<folder>/…`, served by routes/feed_files.py), so a re-run replaces the item's
file and length and keeps everything an app knows it by. With access control on, every URL in
the feed carries the feed's own read-only token, never the admin token.
"""
import logging
import re
import xml.etree.ElementTree as ET
from datetime import timezone
from email.utils import format_datetime
from pathlib import Path

from flask import Blueprint, current_app, url_for

from routes.errors import api_error
from services.json_files import read_json_object
from services.podcast import episodes, identity
from services.podcast.channel import parse_category
from services.podcast.feed_token import feed_token
from storage.database import db
from storage.models import Run, utcnow
from webui.access import configured_token, request_authorized

log = logging.getLogger(__name__)
bp = Blueprint("feed", __name__)

MAX_ITEMS = 100
RSS_TYPE = "application/rss+xml; charset=utf-8"
NAMESPACES = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
              "podcast": "https://podcastindex.org/namespace/1.0",
              "atom": "http://www.w3.org/2005/Atom"}
# Characters XML 1.0 cannot carry at all, even escaped (a title may hold any of them).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
DEFAULT_TITLE = "YouTube Pipeline episodes"

for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def _tag(name):
    """`prefix:local` as ElementTree's `{uri}local`."""
    prefix, _, local = name.rpartition(":")
    return f"{{{NAMESPACES[prefix]}}}{local}" if prefix else local


def _add(parent, name, text=None, /, **attributes):
    """A child element with text and attributes, less the characters XML cannot hold."""
    element = ET.SubElement(parent, _tag(name),
                            {key: NOT_XML.sub("", str(value)) for key, value in attributes.items()})
    if text is not None:
        element.text = NOT_XML.sub("", str(text))
    return element


def settings():
    """The `feed` settings."""
    return current_app.config["PIPELINE"].get("feed") or {}


def feed_url(endpoint, tokened=True, **values):
    """An absolute URL for the feed: at `feed.public_url` when set, with the feed's token
    when access control is on (and `tokened`)."""
    if tokened and configured_token():
        values["token"] = feed_token(current_app.config["PIPELINE"])
    public = (settings().get("public_url") or "").strip().rstrip("/")
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def file_url(folder_name, name):
    """The feed URL of one file of an episode folder."""
    return feed_url("feed_files.episode_file", folder=folder_name, name=name)


def _rfc2822(moment):
    """A datetime (naive ones are UTC) as an RFC 2822 date."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def feed_episodes(limit=None):
    """The newest `limit` episodes, newest publication first: one dict per folder.

    Folders are taken in the order their runs finished, up to twice `limit` of them, then
    sorted by publication date (a re-run finishes late but keeps its first date)."""
    limit = limit or MAX_ITEMS
    root = current_app.extensions["pipeline"].episodes_root
    query = (db.select(Run).where(Run.state == "completed")
             .order_by(Run.finished_at.desc(), Run.id.desc()))
    seen, found = set(), []
    for run in db.session.scalars(query.execution_options(yield_per=200)):
        if run.episode_dir in seen:
            continue
        seen.add(run.episode_dir)
        folder = Path(root) / run.episode_dir
        production = episodes.production_of(folder)
        audio = episodes.episode_file(folder, production)
        if audio is None:
            continue
        metadata = read_json_object(folder / "metadata.json") or {}
        record = identity.read_publication(folder)
        fallback = (run.finished_at or run.created_at or utcnow()).replace(tzinfo=timezone.utc)
        found.append({
            "run": run, "name": run.episode_dir, "folder": folder, "audio": audio,
            "production": production, "metadata": metadata,
            "guid": record.get("guid") or identity.episode_guid(run.url, folder.name),
            "published": identity.publication_date(record, metadata, fallback,
                                                   settings().get("pub_date") or "published")})
        if len(found) >= limit * 2:
            break
    found.sort(key=lambda episode: episode["published"], reverse=True)
    guids = set()   # one item per guid, whatever was copied between folders by hand
    found = [e for e in found if e["guid"] not in guids and not guids.add(e["guid"])]
    return found[:limit]


def _summary(folder, title):
    summary = (read_json_object(folder / "summary.json") or {}).get("summary")
    return summary.strip() if isinstance(summary, str) and summary.strip() else title


def _item(channel, episode):
    """One episode's <item>."""
    run, name, folder = episode["run"], episode["name"], episode["folder"]
    item = _add(channel, "item")
    title = (run.title or "").strip() or run.url
    _add(item, "title", title)
    _add(item, "itunes:title", title)
    link = episode["metadata"].get("webpage_url") or run.url
    if isinstance(link, str) and link.startswith(("http://", "https://")):
        _add(item, "link", link)
    _add(item, "guid", episode["guid"], isPermaLink="false")
    _add(item, "pubDate", _rfc2822(episode["published"]))
    _add(item, "description", _summary(folder, title))
    audio = episode["audio"]
    _add(item, "enclosure", url=file_url(name, audio.name), length=audio.stat().st_size,
         type=episodes.EPISODE_TYPES[audio.name])
    seconds = episodes.episode_duration(audio, episode["production"])
    if seconds is not None:
        _add(item, "itunes:duration", round(seconds))
    _add(item, "itunes:episodeType", "full")
    cover = episodes.episode_cover(folder)
    if cover:
        _add(item, "itunes:image", href=file_url(name, cover))
    if episodes.episode_chapters(folder):
        _add(item, "podcast:chapters", url=file_url(name, episodes.CHAPTERS_NAME),
             type=episodes.CHAPTERS_TYPE)
    for file_name, kind, language in episodes.episode_transcripts(folder, episode["production"]):
        _add(item, "podcast:transcript", url=file_url(name, file_name), type=kind,
             language=language or settings().get("language") or "en",
             **({"rel": "captions"} if kind in ("text/vtt", "application/x-subrip") else {}))


def _channel_image(found):
    """The channel's art: `feed.image`, else the newest episode's cover URL, else None."""
    if settings().get("image"):
        return settings()["image"]
    for episode in found:
        cover = episodes.episode_cover(episode["folder"])
        if cover:
            return file_url(episode["name"], cover)
    return None


def _channel(rss, found):
    """The <channel> with its own tags (items are added after)."""
    feed = settings()
    channel = _add(rss, "channel")
    title = feed.get("title") or DEFAULT_TITLE
    _add(channel, "title", title)
    _add(channel, "link", (feed.get("public_url") or "").strip() or feed_url("dashboard.index",
                                                                            tokened=False))
    self_url = feed_url("feed.feed", tokened=False)
    _add(channel, "atom:link", href=feed_url("feed.feed"), rel="self", type="application/rss+xml")
    _add(channel, "description", feed.get("description") or "Episodes produced by the pipeline.")
    _add(channel, "language", feed.get("language") or "en")
    newest = found[0]["published"] if found else None
    _add(channel, "lastBuildDate", _rfc2822(newest or utcnow()))
    author = feed.get("author") or "YouTube Pipeline"
    _add(channel, "itunes:author", author)
    owner = _add(channel, "itunes:owner")
    _add(owner, "itunes:name", feed.get("owner_name") or author)
    if feed.get("owner_email"):
        _add(owner, "itunes:email", feed["owner_email"])
    _add(channel, "itunes:explicit", "true" if feed.get("explicit") else "false")
    _add(channel, "itunes:type", "episodic")
    if feed.get("category"):
        category, subcategory = parse_category(feed["category"])
        element = _add(channel, "itunes:category", text=category)
        if subcategory:
            _add(element, "itunes:category", text=subcategory)
    image = _channel_image(found)
    if image:
        _add(channel, "itunes:image", href=image)
        picture = _add(channel, "image")
        _add(picture, "url", image)
        _add(picture, "title", title)
        _add(picture, "link", channel.findtext("link"))
    _add(channel, "podcast:guid", identity.podcast_guid(self_url))
    _add(channel, "podcast:locked", "yes" if feed.get("locked", True) else "no",
         **({"owner": feed["owner_email"]} if feed.get("owner_email") else {}))
    _add(channel, "podcast:medium", "podcast")
    return channel


def build_feed():
    """The feed document as UTF-8 bytes."""
    found = feed_episodes()
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _channel(rss, found)
    for episode in found:
        _item(channel, episode)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


@bp.get("/feed.xml")
def feed():
    """The podcast feed of produced episodes, newest first."""
    response = current_app.response_class(build_feed(), content_type=RSS_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.after_request
def refuse_without_token(response):
    """Answer a missing token with 401, not the login page: a podcast app cannot sign in."""
    if response.status_code == 302 and configured_token() and not request_authorized():
        return api_error(401, "unauthorized", "Add ?token=<feed token> to the feed's URL; the "
                         "feed page of the dashboard shows the whole URL.")
    return response
