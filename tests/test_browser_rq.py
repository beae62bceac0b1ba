"""The monitor in Chromium while the run executes on an RQ worker: the page shows what it
shows for a local run, and its client keeps one event per seq, in order, whatever the arrival."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import (  # noqa: F401 - fixture
    browser,
    choose_transcript_only,
    open_page,
    screenshot,
)
from tests.conftest import follow_run
from tests.redis_support import cluster, media, redis_server, unique_url  # noqa: F401

pytestmark = pytest.mark.timeout(600)

# Feeds a RunConnection events in a hostile order: reversed, each twice, some missing (the
# client must fetch those from /api/pipeline/events); returns the seqs that reached onEvent.
SHUFFLED_FEED = """async ([sessionId, events, missing]) => {
  const { RunConnection } = await import("/static/js/live-client.js");
  const delivered = [];
  const connection = new RunConnection(sessionId, {
    onEvent: (kind, event) => delivered.push([kind, event.seq]),
    onSnapshot() {}, onStatus() {}, onCancelResult() {}, onProblem() {},
  });
  const fed = events.filter((item) => !missing.includes(item.data.seq)).reverse();
  for (const item of [...fed, ...fed]) connection.accept(item.event, item.data);
  const deadline = Date.now() + 10000;
  while (connection.lastSeq < events.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { delivered, lastSeq: connection.lastSeq };
}"""


@pytest.fixture
def page(browser, cluster):  # noqa: F811
    opened = open_page(browser, cluster.url)
    yield opened
    opened.context.close()


def _field(page, name):
    return page.locator(f'#monitor [data-field="{name}"]')


def _stage(page, number):
    return page.locator(f'#monitor .stage[data-stage="{number}"]')


def test_a_run_on_a_worker_looks_like_a_local_run(page, cluster, media):  # noqa: F811
    page.goto("/")
    choose_transcript_only(page)
    page.get_by_label("Video or media URL").fill(unique_url(media, "speech-x3"))
    page.get_by_role("button", name="Start").click()
    monitor = page.locator("#monitor")
    expect(monitor).to_be_visible()
    expect(_field(page, "connection")).to_have_text("Connected")
    session_id = monitor.get_attribute("data-session-id")
    expect(_stage(page, 2)).to_have_attribute("data-status", "running", timeout=60_000)
    expect(_field(page, "sub-label")).to_have_text(re.compile("Loading model|Detecting language|"
                                                             "Transcribing|Writing subtitles"))
    page.reload()   # reattach mid-run: earlier lines come back, nothing twice
    expect(_field(page, "connection")).to_have_text("Connected")
    expect(_field(page, "state")).to_have_text("Completed", timeout=120_000)
    expect(_stage(page, 1)).to_have_attribute("data-status", "completed")
    expect(_stage(page, 2)).to_have_attribute("data-status", "completed")
    expect(_field(page, "overall-bar")).to_have_attribute("aria-valuenow", "100")
    expect(_field(page, "remaining")).to_have_text("00:00")
    screenshot(page, "rq-monitor-completed")
    stored = cluster.events(session_id)
    logged = [data["message"] for kind, data in stored if kind == "log_stream"]
    assert any(line.startswith("Run taken by worker") for line in logged)
    page.wait_for_function(
        f"document.querySelectorAll('#monitor .log-line').length >= {len(logged)}")
    assert page.locator("#monitor .log-line .log-message").all_text_contents() == logged
    link = page.locator('#monitor [data-field="output-list"] a', has_text="transcript.txt")
    answer = page.request.get(link.get_attribute("href"))
    assert answer.ok and "coffee" in answer.text()
    assert page.errors == []


def test_client_keeps_one_event_per_seq_in_order(page, cluster, media):  # noqa: F811
    run = follow_run(cluster.url, unique_url(media, "speech-x3"), [1], timeout=120, socket=False)
    session_id, events = run["session_id"], run["stored"]
    missing = [1, 5, 6, len(events) - 1]
    page.goto("/runs")
    result = page.evaluate(SHUFFLED_FEED, [session_id, events, missing])
    expected = [[item["event"], item["data"]["seq"]] for item in events
                if item["event"] != "pipeline_update"]
    assert result["lastSeq"] == len(events)
    assert result["delivered"] == expected
    assert page.errors == []
