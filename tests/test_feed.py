"""The podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 tags, items known by their
episode folder (guid, enclosure URL), enclosures that serve the episode's bytes, chapters, and
with access control on, the feed's own read-only token in every URL it holds."""
import json
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from services.media.ffmpeg import probe
from services.podcast.identity import episode_guid, podcast_guid
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


def folder_of(item):
    """The episode folder an item's enclosure names (/feed/episodes/<folder>/<file>)."""
    path = unquote(urlsplit(item.find("enclosure").get("url")).path)
    return path.split("/feed/episodes/", 1)[1].rsplit("/", 1)[0]


def items_by_folder(root):
    return {folder_of(item): item for item in root.iter("item")}


def make_mp3(path, seconds=2):
    """A short real MP3 (a tone) at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", "-c:a", "libmp3lame", "-b:a", "32k",
                    str(path)], check=True)
    return path


def add_run(app, folder_name, state="completed", title="A run", age_seconds=0):
    """A run stored directly (no stage rows), finished `age_seconds` ago; returns its id (its
    source URL is https://example.com/<id>.mp4)."""
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


def produced_item(live_server, produced, **params):
    return items_by_folder(get_feed(live_server, **params)[1])[produced[1].name]


def test_feed_is_rss_2_with_the_tags_apple_and_podcasting_2_ask_for(live_server, produced,
                                                                     monkeypatch):
    feed_settings = live_server.app.config["PIPELINE"]["feed"]
    monkeypatch.setitem(feed_settings, "owner_email", "shows@example.com")
    monkeypatch.setitem(feed_settings, "image", "https://cdn.example.com/show.jpg")
    monkeypatch.setitem(feed_settings, "category", "Society & Culture > Documentary")
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
    category = channel.find("itunes:category", NS)
    assert category.get("text") == "Society & Culture"
    assert category.find("itunes:category", NS).get("text") == "Documentary"
    assert channel.find("itunes:image", NS).get("href") == "https://cdn.example.com/show.jpg"
    owner = channel.find("itunes:owner", NS)
    assert owner.findtext("itunes:email", namespaces=NS) == "shows@example.com"
    assert owner.findtext("itunes:name", namespaces=NS) == "YouTube Pipeline"
    self_url = channel.find("atom:link", NS).get("href")
    assert self_url == f"{live_server.url}/feed.xml"
    assert channel.findtext("podcast:guid", namespaces=NS) == str(uuid.uuid5(
        uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), self_url.split("://", 1)[1]))
    locked = channel.find("podcast:locked", NS)
    assert locked.text == "yes" and locked.get("owner") == "shows@example.com"
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")).tzinfo is not None
    for item in channel.iter("item"):   # Apple's required item tags
        assert item.findtext("title") and item.findtext("guid")
        assert item.find("enclosure").get("type") in ("audio/mp4", "audio/mpeg")


def test_feed_public_url_names_every_address(live_server, produced, monkeypatch):
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["feed"], "public_url",
                        "https://pods.example.com/")
    _, root = get_feed(live_server)
    channel = root.find("channel")
    assert channel.findtext("link") == "https://pods.example.com/"
    assert channel.find("atom:link", NS).get("href") == "https://pods.example.com/feed.xml"
    assert channel.findtext("podcast:guid", namespaces=NS) == podcast_guid(
        "https://pods.example.com/feed.xml")
    for url in feed_urls(root)[1:]:
        assert url.startswith("https://pods.example.com/"), url


def test_the_episode_item_serves_the_episode(live_server, produced):
    session_id, folder = produced
    item = produced_item(live_server, produced)
    summary = json.loads((folder / "summary.json").read_text("utf-8"))["summary"]
    assert item.findtext("description") == summary.strip()
    assert item.find("guid").get("isPermaLink") == "false"
    source = json.loads((folder / "metadata.json").read_text("utf-8"))["webpage_url"]
    assert item.findtext("guid") == episode_guid(source, folder.name)
    assert item.findtext("link") == source
    assert parsedate_to_datetime(item.findtext("pubDate")).tzinfo is not None

    episode = folder / "episode.m4a"
    enclosure = item.find("enclosure")
    assert enclosure.get("url") == f"{live_server.url}/feed/episodes/{folder.name}/episode.m4a"
    assert enclosure.get("type") == "audio/mp4"
    assert int(enclosure.get("length")) == episode.stat().st_size
    whole = requests.get(enclosure.get("url"), timeout=30)
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "audio/mp4"
    assert whole.headers["Access-Control-Allow-Origin"] == "*"
    assert whole.content == episode.read_bytes()
    part = requests.get(enclosure.get("url"), headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206 and part.content == episode.read_bytes()[100:200]

    duration = int(item.findtext("itunes:duration", namespaces=NS))
    assert abs(duration - probe(episode)["duration"]) <= 1


def test_chapters_json_follows_production_json(live_server, produced, client):
    session_id, folder = produced
    link = produced_item(live_server, produced).find("podcast:chapters", NS)
    assert link.get("type") == "application/json+chapters"
    assert link.get("url") == f"{live_server.url}/feed/episodes/{folder.name}/chapters.json"
    expected = {"version": "1.2.0", "chapters": [
        {"startTime": chapter["start"], "title": chapter["title"]} for chapter in CHAPTERS]}
    for url in (link.get("url"), f"{live_server.url}/runs/{session_id}/chapters.json"):
        answer = requests.get(url, timeout=30)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/json+chapters"
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert answer.json() == expected

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
    item = items_by_folder(get_feed(live_server)[1])[folder_name]
    answer = client.get(f"/feed/episodes/{folder_name}/chapters.json")
    if expected is None:
        assert item.find("podcast:chapters", NS) is None and answer.status_code == 404
    else:
        assert item.find("podcast:chapters", NS) is not None
        assert answer.get_json(force=True)["chapters"] == expected
    assert client.get(f"/runs/{session_id}/chapters.json").status_code == answer.status_code


def test_only_the_episode_s_own_transcripts_are_offered(live_server, produced):
    _, folder = produced
    assert (folder / "transcript.vtt").is_file()      # stage 2's, in the source's time
    assert produced_item(live_server, produced).findall("podcast:transcript", NS) == []
    for name in ("transcript.vtt", "metadata.json", "audio_hq.flac", "..%2Fsummary.json"):
        answer = requests.get(f"{live_server.url}/feed/episodes/{folder.name}/{name}", timeout=30)
        assert answer.status_code == 404, name


def test_outside_text_is_escaped_and_the_feed_still_parses(live_server):
    folder_name = f"markup-{uuid.uuid4().hex[:8]}"
    folder = episodes_root(live_server.app) / folder_name
    make_mp3(folder / "episode.mp3")
    summary = "<script>alert(1)</script> Tom & Jerry ]]> \"quoted\""
    (folder / "summary.json").write_text(json.dumps({"summary": summary}), "utf-8")
    add_run(live_server.app, folder_name, title="<b>Tom & Jerry</b>\x0b\x00 é")
    answer, root = get_feed(live_server)
    assert b"&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in answer.content
    assert b"<script>" not in answer.content
    item = items_by_folder(root)[folder_name]
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
    add_run(live_server.app, with_file, state="failed")
    add_run(live_server.app, with_file, state="running")
    no_episode = f"noepisode-{uuid.uuid4().hex[:8]}"
    (root / no_episode).mkdir()
    (root / no_episode / "summary.json").write_text('{"summary": "no audio"}', "utf-8")
    add_run(live_server.app, no_episode)
    missing_folder = f"gone-{uuid.uuid4().hex[:8]}"
    add_run(live_server.app, missing_folder)
    listed = items_by_folder(get_feed(live_server)[1])
    assert produced[1].name in listed
    for left_out in (with_file, no_episode, missing_folder):
        assert left_out not in listed
        answer = requests.get(f"{live_server.url}/feed/episodes/{left_out}/episode.m4a", timeout=30)
        assert answer.status_code == 404


def test_a_folder_is_one_item_whatever_its_runs(live_server):
    folder_name = f"shared-{uuid.uuid4().hex[:8]}"
    make_mp3(episodes_root(live_server.app) / folder_name / "episode.mp3")
    add_run(live_server.app, folder_name, title="older", age_seconds=60)
    add_run(live_server.app, folder_name, title="newer", age_seconds=1)
    items = [item for item in get_feed(live_server)[1].iter("item")
             if folder_of(item) == folder_name]
    assert [item.findtext("title") for item in items] == ["newer"]
    guids = [item.findtext("guid") for item in get_feed(live_server)[1].iter("item")]
    assert len(guids) == len(set(guids))
    pub_dates = [parsedate_to_datetime(item.findtext("pubDate"))
                 for item in get_feed(live_server)[1].iter("item")]
    assert pub_dates == sorted(pub_dates, reverse=True)


def test_the_feed_lists_at_most_max_items_newest_first(live_server, produced, monkeypatch):
    from routes import feed

    folder_name = f"newest-{uuid.uuid4().hex[:8]}"
    make_mp3(episodes_root(live_server.app) / folder_name / "episode.mp3")
    add_run(live_server.app, folder_name)
    monkeypatch.setattr(feed, "MAX_ITEMS", 1)
    assert list(items_by_folder(get_feed(live_server)[1])) == [folder_name]


def test_the_upload_date_can_be_the_pub_date_and_republishing_moves_it(live_server, produced,
                                                                       monkeypatch, client):
    session_id, folder = produced
    metadata = json.loads((folder / "metadata.json").read_text("utf-8"))
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["feed"], "pub_date", "uploaded")
    (folder / "metadata.json").write_text(json.dumps({**metadata, "upload_date": "20240506"}))
    try:
        uploaded = parsedate_to_datetime(produced_item(live_server, produced).findtext("pubDate"))
        assert (uploaded.year, uploaded.month, uploaded.day) == (2024, 5, 6)
    finally:
        (folder / "metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["feed"], "pub_date", "published")
    refused = client.post(f"/api/runs/{session_id}/republish", json={})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_published"
    (folder / "publication.json").write_text(json.dumps({
        "guid": "kept-guid", "published_at": "2020-01-01T00:00:00+00:00"}))
    try:
        before = produced_item(live_server, produced)
        assert before.findtext("guid") == "kept-guid"
        assert parsedate_to_datetime(before.findtext("pubDate")).year == 2020
        answer = client.post(f"/api/runs/{session_id}/republish", json={})
        assert answer.status_code == 200 and answer.get_json()["guid"] == "kept-guid"
        after = produced_item(live_server, produced)
        assert after.findtext("guid") == "kept-guid"
        assert parsedate_to_datetime(after.findtext("pubDate")).year >= 2026
    finally:
        (folder / "publication.json").unlink()


def test_without_a_token_configured_no_url_carries_one(live_server, produced):
    answer, _ = get_feed(live_server)
    assert b"token=" not in answer.content


def feed_urls(root):
    """Every URL the feed holds: links, the self link, enclosures, art, chapters, transcripts."""
    channel = root.find("channel")
    urls = [channel.findtext("link"), channel.find("atom:link", NS).get("href")]
    urls += [image.get("href") for image in channel.findall("itunes:image", NS)]
    for item in channel.iter("item"):
        urls.append(item.find("enclosure").get("url"))
        urls += [image.get("href") for image in item.findall("itunes:image", NS)]
        urls += [link.get("url") for link in item.findall("podcast:chapters", NS)]
        urls += [link.get("url") for link in item.findall("podcast:transcript", NS)]
    return urls
