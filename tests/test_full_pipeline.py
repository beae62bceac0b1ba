"""A full 1–7 run of the three-topic fixture through the live server, watched by a socket
client: every sub-stage shows, the verdict is `passed`, the manifest's checksums hold, the run
page links the report, and the feed offers the episode."""
import hashlib
import json
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from services.stages import STAGES
from tests.conftest import RecordingClient


@pytest.fixture(scope="module")
def full_run(live_server, media_server):
    episode = f"full-{uuid.uuid4().hex[:8]}"
    watcher = RecordingClient(live_server.url).connect()
    body = {"youtube_url": f"{media_server}/topics.m4a?full", "selected_stages": list(range(1, 8)),
            "episode_directory": episode}
    answer = requests.post(f"{live_server.url}/pipeline/execute", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    session_id = answer.json()["session_id"]
    watcher.emit("subscribe", {"session_id": session_id, "last_seq": 0})
    watcher.wait_for(lambda got: any(k == "pipeline_completion" for k, *_ in got), timeout=400)
    time.sleep(0.3)
    watcher.disconnect()
    return {"session_id": session_id, "events": watcher.run_events(),
            "folder": Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes" / episode}


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
    items = [item for item in feed.iter("item")
             if (item.findtext("guid") or "") == full_run["session_id"]]
    assert len(items) == 1
    enclosure = items[0].find("enclosure")
    assert int(enclosure.get("length")) == (full_run["folder"] / "episode.m4a").stat().st_size
    audio = requests.get(enclosure.get("url"), timeout=30)
    assert audio.status_code == 200 and audio.content == (full_run["folder"] / "episode.m4a").read_bytes()
