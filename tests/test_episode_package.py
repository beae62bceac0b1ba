"""A published episode end to end, through the live server: a page whose video has a thumbnail
runs 1–7, and the episode comes out as a podcast app needs it. The cover is made from the
thumbnail; chapters, tags and cover are inside the file (m4a here, mp3 from a second stage 6);
the transcripts are in episode time, checked against where a transcription of the episode
itself hears the words; the feed lists it once under a stable guid and URL, and a re-run
replaces the file in place."""
import json
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from services.media.ffmpeg import probe
from services.media.subtitles import parse_vtt
from services.media.tagging import read_metadata
from services.stages.quality_packaging import parse_srt
from tests.conftest import run_stages_here
from tests.media_support import ffmpeg
from tests.server_support import start_run, wait_state

NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
      "podcast": "https://podcastindex.org/namespace/1.0"}
PAUSE_END = 29.713      # two_voices.json: the 3 s pause before the last question ends here
CHAPTER_TOLERANCE = 0.1
HEARD_TOLERANCE = 0.35  # seconds between a cue's start and where the episode's words are heard


def write_page(folder, base_url, tag):
    """A page with the interview as its video and a 640x360 thumbnail as its og:image."""
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=640x360", "-frames:v", "1", str(folder / f"thumb-{tag}.jpg")],
                   check=True, timeout=60)
    (folder / f"show-{tag}.html").write_text(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
        f"<title>Interview &amp; answers {tag}</title>"
        f"<meta property=\"og:image\" content=\"{base_url}/thumb-{tag}.jpg\"></head><body>"
        "<video controls src=\"two_voices.m4a\"></video></body></html>", "utf-8")
    return f"{base_url}/show-{tag}.html"


@pytest.fixture(scope="module")
def published(watch_run, live_server, media_site):
    """One 1–7 run of the interview page: (run, folder, page URL)."""
    tag = uuid.uuid4().hex[:8]
    url = write_page(Path(media_site.folder), media_site.url, tag)
    run = watch_run(url, range(1, 8), episode=f"published-{tag}", timeout=400, socket=False)
    assert run["snapshot"]["state"] == "completed", run["snapshot"]["error"]
    return run, run["folder"], url


def feed_items(live_server, folder_name):
    root = ET.fromstring(requests.get(f"{live_server.url}/feed.xml", timeout=30).content)
    return [item for item in root.iter("item")
            if f"/feed/episodes/{folder_name}/" in item.find("enclosure").get("url")]


def test_the_cover_is_square_art_made_from_the_thumbnail(published, live_server):
    run, folder, _ = published
    production = json.loads((folder / "production.json").read_text("utf-8"))
    metadata = json.loads((folder / "metadata.json").read_text("utf-8"))
    assert metadata["thumbnail_file"] == "thumbnail.jpg"
    cover = production["cover"]
    assert cover["from"] == "thumbnail.jpg"
    assert cover["width"] == cover["height"] and 1400 <= cover["width"] <= 3000
    assert (folder / "cover.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["verdict"] in ("passed", "warnings"), manifest["findings"]
    guid = json.loads((folder / "publication.json").read_text("utf-8"))["guid"]
    page = requests.get(f"{live_server.url}/runs/{run['session_id']}", timeout=30).text
    assert "In the podcast feed" in page and guid in page


def check_embedded(path, folder, title):
    """Chapters (within CHAPTER_TOLERANCE of production.json), tags and cover inside `path`."""
    production = json.loads((folder / "production.json").read_text("utf-8"))
    found = read_metadata(path)
    wanted = production["chapters"]
    assert len(wanted) >= 2
    assert [c["title"] for c in found["chapters"]] == [c["title"] for c in wanted]
    for inside, chapter in zip(found["chapters"], wanted):
        assert abs(inside["start"] - chapter["start"]) <= CHAPTER_TOLERANCE, (inside, chapter)
    assert found["tags"]["title"] == title
    assert found["tags"]["album"] == "YouTube Pipeline episodes"
    assert found["tags"]["comment"].endswith(".html")
    assert found["tags"]["language"] == "eng"
    assert found["cover"]["mime"] == "image/jpeg" and found["cover"]["bytes"] > 1000


def test_the_m4a_carries_chapters_tags_and_cover(published):
    _, folder, _ = published
    metadata = json.loads((folder / "metadata.json").read_text("utf-8"))
    assert metadata["title"].startswith("Interview & answers")
    check_embedded(folder / "episode.m4a", folder, metadata["title"])


def test_an_mp3_episode_carries_them_too(published, tmp_path):
    _, folder, _ = published
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("episode.*", "clips"))
    run_stages_here(copy, [6], production={"format": "mp3", "bitrate": "64k"})
    metadata = json.loads((copy / "metadata.json").read_text("utf-8"))
    check_embedded(copy / "episode.mp3", copy, metadata["title"])
    assert json.loads((copy / "publication.json").read_text("utf-8")) == json.loads(
        (folder / "publication.json").read_text("utf-8"))   # copied: kept, not made again


def heard_words(episode, scratch):
    """Words of the episode itself, as stage 2 transcribes them from its audio."""
    scratch.mkdir()
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(episode),
                    "-ac", "1", "-ar", "16000", str(scratch / "audio.wav")], check=True,
                   timeout=120)
    (scratch / "metadata.json").write_text(json.dumps({"duration": probe(episode)["duration"]}))
    run_stages_here(scratch, [2])
    transcript = json.loads((scratch / "transcript.json").read_text("utf-8"))
    return [word for segment in transcript["segments"] for word in segment.get("words") or []]


def test_transcripts_are_in_episode_time(published, tmp_path):
    _, folder, _ = published
    episode_seconds = probe(folder / "episode.m4a")["duration"]
    cues = parse_vtt((folder / "episode.vtt").read_text("utf-8"))
    srt = parse_srt((folder / "episode.srt").read_text("utf-8"))
    document = json.loads((folder / "episode.transcript.json").read_text("utf-8"))
    assert len(cues) == len(srt) == len(document["segments"]) >= 5
    for cue in cues:
        assert 0 <= cue["start"] < cue["end"] <= episode_seconds + 0.01
    timeline = json.loads((folder / "production.json").read_text("utf-8"))["timeline"]
    assert len(timeline) == 2   # the long pause was cut
    cut_at = timeline[1][2]     # where the programme after the pause starts in the episode
    after = next(cue for cue in cues if cue["start"] >= cut_at - 0.5)
    heard = next(word for word in heard_words(folder / "episode.m4a", tmp_path / "heard")
                 if word["start"] >= cut_at - 0.5)
    assert abs(after["start"] - heard["start"]) <= HEARD_TOLERANCE, (after, heard)
    # the same words are PAUSE_END - (PAUSE_END - cut) seconds in: far from their source time
    assert PAUSE_END - after["start"] > 1.5


def test_the_feed_lists_it_once_and_a_rerun_replaces_it_in_place(published, live_server):
    _, folder, url = published
    record = json.loads((folder / "publication.json").read_text("utf-8"))
    [item] = feed_items(live_server, folder.name)
    assert item.findtext("guid") == record["guid"]
    enclosure = item.find("enclosure")
    assert int(enclosure.get("length")) == (folder / "episode.m4a").stat().st_size
    image = requests.get(item.find("itunes:image", NS).get("href"), timeout=30)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    links = {link.get("type"): link for link in item.findall("podcast:transcript", NS)}
    assert set(links) == {"text/vtt", "application/x-subrip", "application/json"}
    for link in links.values():
        assert link.get("language") == "en"
        answer = requests.get(link.get("url"), timeout=30)
        assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"
    chapters = requests.get(item.find("podcast:chapters", NS).get("url"), timeout=30)
    assert chapters.headers["Access-Control-Allow-Origin"] == "*"
    assert len(chapters.json()["chapters"]) == len(read_metadata(folder / "episode.m4a")["chapters"])

    before = (folder / "episode.m4a").stat().st_size
    rerun = start_run(live_server, url, [6], episode_directory=folder.name,
                      options={"max_pause_seconds": 0.5, "force": True})
    assert wait_state(live_server, rerun, timeout=300)["state"] == "completed"
    after = (folder / "episode.m4a").stat().st_size
    assert after != before
    [again] = feed_items(live_server, folder.name)
    assert again.findtext("guid") == item.findtext("guid")
    assert again.findtext("pubDate") == item.findtext("pubDate")
    assert again.find("enclosure").get("url") == enclosure.get("url")
    assert int(again.find("enclosure").get("length")) == after
    assert json.loads((folder / "publication.json").read_text("utf-8")) == record
    answer = requests.get(enclosure.get("url"), headers={"Range": "bytes=0-99"}, timeout=30)
    assert answer.status_code == 206 and answer.content == (folder / "episode.m4a").read_bytes()[:100]



def test_a_thumbnail_at_a_refused_address_is_left_out_and_the_run_goes_on(watch_run, media_site):
    tag = uuid.uuid4().hex[:8]
    (Path(media_site.folder) / f"metadata-thumb-{tag}.html").write_text(
        "<!DOCTYPE html><html><head><title>Refused art</title>"
        "<meta property=\"og:image\" content=\"http://169.254.169.254/latest/meta-data/x.jpg\">"
        "</head><body><video src=\"speech.mp4\"></video></body></html>", "utf-8")
    run = watch_run(f"{media_site.url}/metadata-thumb-{tag}.html", [1], socket=False)
    assert run["snapshot"]["state"] == "completed", run["snapshot"]["error"]
    assert not list(run["folder"].glob("thumbnail.*"))
    metadata = json.loads((run["folder"] / "metadata.json").read_text("utf-8"))
    assert metadata["thumbnail_file"] is None
    logged = json.dumps(run["stored"])
    assert "thumbnail could not be fetched" in logged and "169.254.169.254" in logged
