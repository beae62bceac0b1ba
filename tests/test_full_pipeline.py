"""A full 1–7 run of the three-topic fixture through the live server, watched by a socket
client: every sub-stage shows, the verdict is `passed`, the manifest's checksums hold, the run
page links the report, and the feed offers the episode."""
import hashlib
import json
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests

from services.stages import STAGES


@pytest.fixture(scope="module")
def full_run(watch_run, media_server):
    """One 1–7 run of topics.m4a, watched from its start."""
    return watch_run(f"{media_server}/topics.m4a?full", range(1, 8),
                     episode=f"full-{uuid.uuid4().hex[:8]}", timeout=400)


def test_every_sub_stage_of_every_stage_shows(full_run):
    completion = [e for k, e in full_run["events"] if k == "pipeline_completion"][-1]
    assert completion["status"] == "completed", completion
    seen = {}
    for kind, event in full_run["events"]:
        if kind == "pipeline_progress" and event["sub_stage"]:
            seen.setdefault(event["stage"], [])
            if event["sub_stage"] not in seen[event["stage"]]:
                seen[event["stage"]].append(event["sub_stage"])
    for stage in STAGES:
        assert seen.get(stage.number) == list(stage.sub_stages), (stage.number, seen.get(stage.number))
    seqs = [e["seq"] for _, e in full_run["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    progress = [e["progress"] for k, e in full_run["events"] if k == "pipeline_progress"]
    assert progress == sorted(progress) and progress[-1] == 100.0


def test_verdict_passed_and_checksums_hold(full_run):
    folder = full_run["folder"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["verdict"] == "passed", manifest["findings"]
    paths = {item["path"] for item in manifest["files"]}
    assert {"episode.m4a", "clips/01.m4a", "clips/01.srt", "summary.md", "transcript.srt"} <= paths
    for item in manifest["files"]:
        digest = hashlib.sha256((folder / item["path"]).read_bytes()).hexdigest()
        assert digest == item["sha256"], item["path"]
        assert (folder / item["path"]).stat().st_size == item["size"]
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in report.lower() and "<svg" in report


def test_run_page_links_the_report_and_the_feed_offers_the_episode(full_run, live_server):
    page = requests.get(f"{live_server.url}/runs/{full_run['session_id']}", timeout=10).text
    assert f"/runs/{full_run['session_id']}/files/report.html" in page
    feed = ET.fromstring(requests.get(f"{live_server.url}/feed.xml", timeout=30).content)
    folder = full_run["folder"]
    guid = json.loads((folder / "publication.json").read_text("utf-8"))["guid"]
    items = [item for item in feed.iter("item") if item.findtext("guid") == guid]
    assert len(items) == 1
    enclosure = items[0].find("enclosure")
    assert f"/feed/episodes/{folder.name}/episode.m4a" in enclosure.get("url")
    assert int(enclosure.get("length")) == (folder / "episode.m4a").stat().st_size
    audio = requests.get(enclosure.get("url"), timeout=30)
    assert audio.status_code == 200 and audio.content == (folder / "episode.m4a").read_bytes()
