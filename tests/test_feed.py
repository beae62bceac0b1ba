"""The podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 tags, enclosures that serve the
episode's bytes, chapters, transcripts, and the access token in every URL it holds."""
import json
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.media.ffmpeg import probe
from tests.media_support import ffmpeg

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
NS = {"itunes": ITUNES, "podcast": PODCAST, "atom": "http://www.w3.org/2005/Atom"}
CHAPTERS = [{"start": 0, "title": "Opening"}, {"start": 4.5, "title": "Coffee & <markets>"}]


def episodes_root(app):
    return Path(app.extensions["pipeline"].episodes_root)


def get_feed(live_server, **params):
    """The feed fetched over HTTP with no cookies: (response, parsed root)."""
    answer = requests.get(f"{live_server.url}/feed.xml", params=params, timeout=30)
    assert answer.status_code == 200, answer.text[:500]
    return answer, ET.fromstring(answer.content)


def items_by_guid(root):
    return {item.findtext("guid"): item for item in root.iter("item")}


def make_mp3(path, seconds=2):
    """A short real MP3 (a tone) at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", "-c:a", "libmp3lame", "-b:a", "32k",
                    str(path)], check=True)
    return path


def add_run(app, folder_name, state="completed", title="A run", age_seconds=0):
    """A run stored directly (no stage rows), finished `age_seconds` ago; returns its id."""
    from storage.database import db
    from storage.models import Run, utcnow

    session_id = uuid.uuid4().hex
    with app.app_context():
        db.session.add(Run(session_id=session_id, url=f"https://example.com/{session_id}.mp4",
                           title=title, state=state, selected_stages=[1, 2, 3, 4, 5, 6],
                           episode_dir=folder_name,
                           finished_at=utcnow() - timedelta(seconds=age_seconds)))
        db.session.commit()
    return session_id


@pytest.fixture(scope="module")
def produced(watch_run, speech_url):
    """A real 1–5 run of the speech fixture plus an episode.m4a and production.json made here
    (stage 6's outputs): (session_id, folder)."""
    run = watch_run(speech_url, [1, 2, 3, 4, 5], episode=f"feed-{uuid.uuid4().hex[:8]}",
                    socket=False)
    assert run["snapshot"]["state"] == "completed"
    session_id, folder = run["session_id"], run["folder"]
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                    "-i", str(folder / "audio_hq.flac"), "-c:a", "aac", "-b:a", "64k",
                    str(folder / "episode.m4a")], check=True)
    duration = probe(folder / "episode.m4a")["duration"]
    (folder / "production.json").write_text(json.dumps({
        "mode": "full", "format": "m4a",
        "episode": {"file": "episode.m4a", "planned_duration": duration, "program_offset": 0},
        "chapters": CHAPTERS}), "utf-8")
    return session_id, folder


def test_feed_is_rss_2_with_the_itunes_and_podcast_namespaces(live_server, produced):
    answer, root = get_feed(live_server)
    assert answer.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert f'xmlns:itunes="{ITUNES}"'.encode() in answer.content
    assert f'xmlns:podcast="{PODCAST}"'.encode() in answer.content
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") == "YouTube Pipeline episodes"
    assert channel.findtext("link") == f"{live_server.url}/"
    assert channel.findtext("language") == "en"
    assert channel.findtext("description")
    assert channel.findtext("itunes:author", namespaces=NS)
    assert channel.findtext("itunes:explicit", namespaces=NS) == "false"
    assert channel.find("itunes:category", NS).get("text") == "Technology"
    assert channel.find("itunes:image", NS) is None
    assert channel.find("atom:link", NS).get("href") == f"{live_server.url}/feed.xml"
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")).tzinfo is not None


def test_the_episode_item_serves_the_episode(live_server, produced):
    session_id, folder = produced
    item = items_by_guid(get_feed(live_server)[1])[session_id]
    summary = json.loads((folder / "summary.json").read_text("utf-8"))["summary"]
    assert item.findtext("description") == summary.strip()
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext("link") == f"{live_server.url}/runs/{session_id}"
    assert parsedate_to_datetime(item.findtext("pubDate")).tzinfo is not None
    assert requests.get(item.findtext("link"), timeout=30).status_code == 200

    episode = folder / "episode.m4a"
    enclosure = item.find("enclosure")
    assert enclosure.get("type") == "audio/mp4"
    assert int(enclosure.get("length")) == episode.stat().st_size
    whole = requests.get(enclosure.get("url"), timeout=30)
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "audio/mp4"
    assert whole.content == episode.read_bytes()
    part = requests.get(enclosure.get("url"), headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206 and part.content == episode.read_bytes()[100:200]

    duration = int(item.findtext("itunes:duration", namespaces=NS))
    assert abs(duration - probe(episode)["duration"]) <= 1


def test_chapters_json_follows_production_json(live_server, produced, client):
    session_id, _ = produced
    item = items_by_guid(get_feed(live_server)[1])[session_id]
    link = item.find("podcast:chapters", NS)
    assert link.get("type") == "application/json+chapters"
    answer = requests.get(link.get("url"), timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json+chapters"
    assert answer.json() == {"version": "1.2.0", "chapters": [
        {"startTime": chapter["start"], "title": chapter["title"]} for chapter in CHAPTERS]}

    unknown = client.get("/runs/nosuchrun/chapters.json")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_run"
    empty = add_run(client.application, f"missing-{uuid.uuid4().hex[:8]}")
    answer = client.get(f"/runs/{empty}/chapters.json")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "no_chapters"


@pytest.mark.parametrize("production, expected", [
    (None, [{"startTime": 0.0, "title": "Stage five"}, {"startTime": 12.5, "title": "Chapter 2"}]),
    ({"episode": {"file": "episode.mp3"}}, [{"startTime": 0.0, "title": "Stage five"},
                                            {"startTime": 12.5, "title": "Chapter 2"}]),
    ({"episode": {"file": "episode.mp3"}, "chapters": []}, None),
])
def test_chapters_fall_back_to_summary_json_only_without_production_chapters(
        live_server, client, production, expected):
    folder_name = f"chapters-{uuid.uuid4().hex[:8]}"
    folder = episodes_root(live_server.app) / folder_name
    make_mp3(folder / "episode.mp3")
    (folder / "summary.json").write_text(json.dumps({"summary": "s", "chapters": [
        {"start": 12.5, "title": ""}, {"start": 0, "title": "Stage five"}, {"start": "x"}]}), "utf-8")
    if production is not None:
        (folder / "production.json").write_text(json.dumps(production), "utf-8")
    session_id = add_run(live_server.app, folder_name)
    item = items_by_guid(get_feed(live_server)[1])[session_id]
    answer = client.get(f"/runs/{session_id}/chapters.json")
    if expected is None:
        assert item.find("podcast:chapters", NS) is None and answer.status_code == 404
    else:
        assert item.find("podcast:chapters", NS) is not None
        assert answer.get_json(force=True)["chapters"] == expected


def test_transcripts_are_offered_as_they_are(live_server, produced):
    session_id, folder = produced
    item = items_by_guid(get_feed(live_server)[1])[session_id]
    offered = {link.get("type"): link.get("url") for link in item.findall("podcast:transcript", NS)}
    assert set(offered) == {"application/x-subrip", "text/vtt"}
    for kind, name in (("application/x-subrip", "transcript.srt"), ("text/vtt", "transcript.vtt")):
        answer = requests.get(offered[kind], timeout=30)
        assert answer.status_code == 200 and answer.content == (folder / name).read_bytes()


def test_outside_text_is_escaped_and_the_feed_still_parses(live_server):
    folder_name = f"markup-{uuid.uuid4().hex[:8]}"
    folder = episodes_root(live_server.app) / folder_name
    make_mp3(folder / "episode.mp3")
    summary = "<script>alert(1)</script> Tom & Jerry ]]> \"quoted\""
    (folder / "summary.json").write_text(json.dumps({"summary": summary}), "utf-8")
    session_id = add_run(live_server.app, folder_name, title="<b>Tom & Jerry</b>\x0b\x00 é")
    answer, root = get_feed(live_server)
    assert b"&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in answer.content
    assert b"<script>" not in answer.content
    item = items_by_guid(root)[session_id]
    assert item.findtext("title") == "<b>Tom & Jerry</b> é"
    assert item.findtext("description") == summary
    assert item.find("enclosure").get("type") == "audio/mpeg"
    assert item.find("podcast:chapters", NS) is None
    fetched = requests.get(item.find("enclosure").get("url"), timeout=30)
    assert fetched.headers["Content-Type"] == "audio/mpeg"


def test_only_completed_runs_with_an_episode_file_are_listed(live_server, produced):
    root = episodes_root(live_server.app)
    with_file = f"failed-{uuid.uuid4().hex[:8]}"
    shutil.copytree(produced[1], root / with_file)
    failed = add_run(live_server.app, with_file, state="failed")
    running = add_run(live_server.app, with_file, state="running")
    no_episode = f"noepisode-{uuid.uuid4().hex[:8]}"
    (root / no_episode).mkdir()
    (root / no_episode / "summary.json").write_text('{"summary": "no audio"}', "utf-8")
    without_file = add_run(live_server.app, no_episode)
    missing_folder = add_run(live_server.app, f"gone-{uuid.uuid4().hex[:8]}")
    guids = items_by_guid(get_feed(live_server)[1])
    assert produced[0] in guids
    for left_out in (failed, running, without_file, missing_folder):
        assert left_out not in guids


def test_a_shared_episode_folder_is_listed_once_as_its_newest_run(live_server):
    folder_name = f"shared-{uuid.uuid4().hex[:8]}"
    make_mp3(episodes_root(live_server.app) / folder_name / "episode.mp3")
    older = add_run(live_server.app, folder_name, title="older", age_seconds=60)
    newer = add_run(live_server.app, folder_name, title="newer", age_seconds=1)
    items = list(get_feed(live_server)[1].iter("item"))
    guids = [item.findtext("guid") for item in items]
    assert newer in guids and older not in guids
    pub_dates = [parsedate_to_datetime(item.findtext("pubDate")) for item in items]
    assert pub_dates == sorted(pub_dates, reverse=True)


def test_the_feed_lists_at_most_max_items_newest_first(live_server, produced, monkeypatch):
    from routes import feed

    folder_name = f"newest-{uuid.uuid4().hex[:8]}"
    make_mp3(episodes_root(live_server.app) / folder_name / "episode.mp3")
    newest = add_run(live_server.app, folder_name)
    monkeypatch.setattr(feed, "MAX_ITEMS", 1)
    assert list(items_by_guid(get_feed(live_server)[1])) == [newest]


def test_without_a_token_configured_no_url_carries_one(live_server, produced):
    answer, _ = get_feed(live_server)
    assert b"token=" not in answer.content


def feed_urls(root):
    """Every URL the feed holds: links, the self link, enclosures, chapters, transcripts."""
    channel = root.find("channel")
    urls = [channel.findtext("link"), channel.find("atom:link", NS).get("href")]
    for item in channel.iter("item"):
        urls.append(item.findtext("link"))
        urls.append(item.find("enclosure").get("url"))
        urls += [link.get("url") for link in item.findall("podcast:chapters", NS)]
        urls += [link.get("url") for link in item.findall("podcast:transcript", NS)]
    return urls


def test_with_a_token_every_url_in_the_feed_carries_it(live_server, produced, monkeypatch):
    token = "feed-s3cret/+&"
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["server"], "auth_token", token)
    session_id, folder = produced
    refused = requests.get(f"{live_server.url}/feed.xml", allow_redirects=False, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    chapters = requests.get(f"{live_server.url}/runs/{session_id}/chapters.json",
                            allow_redirects=False, timeout=30)
    assert chapters.status_code == 401
    episode = requests.get(f"{live_server.url}/runs/{session_id}/files/episode.m4a",
                           allow_redirects=False, timeout=30)
    assert episode.status_code in (302, 401)

    _, root = get_feed(live_server, token=token)
    item = items_by_guid(root)[session_id]
    assert item.find("podcast:chapters", NS) is not None
    assert len(item.findall("podcast:transcript", NS)) == 2
    urls = feed_urls(root)
    for url in urls:
        assert parse_qs(urlsplit(url).query)["token"] == [token], url
        # requests.get keeps no cookies between calls: each URL must work on its own.
        answer = requests.get(url, allow_redirects=False, timeout=30)
        assert answer.status_code == 200, url
    enclosure = item.find("enclosure").get("url")
    part = requests.get(enclosure, headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206 and part.content == (folder / "episode.m4a").read_bytes()[:100]
