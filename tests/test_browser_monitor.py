"""The live monitor in a real browser: runs from the form, reload, cancel, polling, escaping."""
import re

import requests
from playwright.sync_api import expect

from tests.browser_support import choose_transcript_only, screenshot, stored_events
from tests.media_support import media_url
from tests.server_support import start_run, wait_state

# Records desktop notifications instead of showing them (permission already granted).
NOTIFICATION_RECORDER = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({ title, body: (options || {}).body }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""
# Records every value the overall bar takes.
OVERALL_RECORDER = """() => {
  const bar = document.querySelector('[data-field="overall-bar"]');
  window.__overall = [];
  new MutationObserver(() => window.__overall.push(Number(bar.getAttribute("aria-valuenow"))))
    .observe(bar, { attributes: true, attributeFilter: ["aria-valuenow"] });
}"""
SOCKET_IO = re.compile(r"/socket\.io/")
# While window.__refuseWebSocket is true, every WebSocket fails at once, as behind a proxy
# that refuses them (Playwright's WebSocket routes cannot refuse a connection).
WEBSOCKET_REFUSER = """
const RealWebSocket = window.WebSocket;
window.__refuseWebSocket = true;
window.WebSocket = function WebSocket(url, protocols) {
  if (!window.__refuseWebSocket) return new RealWebSocket(url, protocols);
  const refused = new EventTarget();
  Object.assign(refused, { url, readyState: 0, protocol: "", extensions: "", bufferedAmount: 0,
    binaryType: "blob", send() {}, close() {} });
  setTimeout(() => {
    refused.readyState = 3;
    if (refused.onerror) refused.onerror(new Event("error"));
    if (refused.onclose) refused.onclose(new CloseEvent("close", { code: 1006 }));
  }, 0);
  return refused;
};
Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
"""


def stage(page, number):
    return page.locator(f'#monitor .stage[data-stage="{number}"]')


def field(page, name):
    return page.locator(f'#monitor [data-field="{name}"]')


def log_messages(page):
    return page.locator("#monitor .log-line .log-message").all_text_contents()


def test_run_started_from_the_form_shows_stages_progress_and_log(page, live_server, any_media):
    page.add_init_script(NOTIFICATION_RECORDER)
    page.goto("/")
    page.evaluate(OVERALL_RECORDER)
    choose_transcript_only(page)
    page.get_by_label("Video or media URL").fill(media_url(any_media, "slow"))
    page.get_by_role("button", name="Start").click()

    monitor = page.locator("#monitor")
    expect(monitor).to_be_visible()
    expect(field(page, "connection")).to_have_text("Connected")
    page.get_by_role("button", name="Notify me when done").click()
    expect(page.locator('[data-action="notify"]')).to_have_attribute("aria-pressed", "true")

    expect(stage(page, 1)).to_have_attribute("data-status", "running")
    expect(stage(page, 1)).to_have_attribute("aria-current", "step")
    expect(stage(page, 1).locator('[data-role="sub-stage"]')).to_have_text("Downloading media")
    expect(field(page, "sub-label")).to_have_text("Downloading media")
    expect(field(page, "sub-count")).to_have_text(re.compile(r"KiB/\d+\.\d KiB$"))
    expect(field(page, "state")).to_have_text("Running")
    expect(page.locator('[data-action="cancel"]')).to_be_enabled()
    for number in range(3, 8):
        expect(stage(page, number)).to_have_attribute("data-status", "skipped")
    elapsed = field(page, "elapsed").text_content()
    assert re.fullmatch(r"\d\d:\d\d", elapsed)
    expect(field(page, "elapsed")).not_to_have_text(elapsed)  # the clock ticks
    expect(page.locator("#monitor .log-line").first).to_be_visible()
    screenshot(page, "monitor-1-downloading")

    expect(stage(page, 2)).to_have_attribute("data-status", "running", timeout=30_000)
    expect(stage(page, 1)).to_have_attribute("data-status", "completed")
    expect(field(page, "state")).to_have_text("Completed", timeout=60_000)
    expect(stage(page, 2)).to_have_attribute("data-status", "completed")
    expect(field(page, "overall-bar")).to_have_attribute("aria-valuenow", "100")
    expect(field(page, "progress-text")).to_have_text("100.0%")
    expect(field(page, "remaining")).to_have_text("00:00")
    expect(page.locator('[data-action="cancel"]')).to_be_disabled()
    expect(field(page, "title")).to_have_text(re.compile(r"^talk-"))
    screenshot(page, "monitor-2-completed")

    overall = page.evaluate("window.__overall")
    assert len(overall) > 3 and overall == sorted(overall), overall
    messages = log_messages(page)
    assert any(message.startswith("Media: talk-") for message in messages)
    assert any("Transcription completed" in message for message in messages)
    assert page.evaluate("window.__notifications") == [
        {"title": "Run completed", "body": field(page, "title").text_content()}]

    link = page.locator('#monitor [data-field="output-list"] a', has_text="transcript.txt")
    expect(link).to_be_visible()
    answer = page.request.get(link.get_attribute("href"))
    assert answer.ok and "coffee" in answer.text()
    assert page.errors == []


def test_reload_mid_run_shows_the_same_run_and_its_earlier_log(page, live_server, any_media):
    session_id = start_run(live_server, media_url(any_media, "slow"))
    page.goto("/")  # the dashboard follows the run in progress by itself
    expect(page.locator("#monitor")).to_have_attribute("data-session-id", session_id)
    expect(stage(page, 1)).to_have_attribute("data-status", "running")
    expect(stage(page, 1).locator('[data-role="sub-stage"]')).to_have_text("Downloading media")
    page.wait_for_function("document.querySelectorAll('#monitor .log-line').length >= 3")
    before = log_messages(page)
    progress_before = float(field(page, "overall-bar").get_attribute("aria-valuenow"))

    page.reload()
    expect(page.locator("#monitor")).to_have_attribute("data-session-id", session_id)
    expect(field(page, "connection")).to_have_text("Connected")
    expect(field(page, "state")).to_have_text("Running")
    expect(stage(page, 1)).to_have_attribute("data-status", re.compile("running|completed"))
    page.wait_for_function(f"document.querySelectorAll('#monitor .log-line').length >= {len(before)}")
    assert log_messages(page)[:len(before)] == before
    assert float(field(page, "overall-bar").get_attribute("aria-valuenow")) >= progress_before
    expect(field(page, "title")).to_have_text(re.compile(r"^talk-"))
    screenshot(page, "monitor-3-after-reload")

    expect(field(page, "state")).to_have_text("Completed", timeout=60_000)
    logged = [event["message"] for event in stored_events(live_server, session_id, "log_stream")]
    page.wait_for_function(f"document.querySelectorAll('#monitor .log-line').length >= {len(logged)}")
    assert log_messages(page) == logged  # every line once, in order
    assert page.errors == []


def test_cancel_during_transcription_ends_cancelled(page, live_server, any_media):
    page.goto("/")
    choose_transcript_only(page)
    page.get_by_label("Video or media URL").fill(media_url(any_media, "long"))
    page.get_by_role("button", name="Start").click()
    expect(stage(page, 2).locator('[data-role="sub-stage"]')).to_have_text("Transcribing",
                                                                              timeout=60_000)
    expect(field(page, "sub-count")).to_have_text(re.compile(r"^\d\d:\d\d/02:1\d$"))
    # The button answers in the same moment it is pressed, before the server does.
    shown = page.evaluate("""() => {
      const button = document.querySelector('[data-action="cancel"]');
      button.click();
      return [button.textContent, button.disabled];
    }""")
    assert shown == ["Cancelling…", True]
    expect(field(page, "state")).to_have_text("Cancelled", timeout=15_000)
    expect(page.locator('[data-action="cancel"]')).to_have_text("Cancelled")
    expect(page.locator('[data-action="cancel"]')).to_be_disabled()
    expect(stage(page, 2)).to_have_attribute("data-status", "cancelled")
    expect(stage(page, 1)).to_have_attribute("data-status", "completed")
    session_id = page.locator("#monitor").get_attribute("data-session-id")
    assert wait_state(live_server, session_id)["state"] == "cancelled"
    screenshot(page, "monitor-4-cancelled")
    assert page.errors == []


def test_polling_when_the_socket_is_refused_then_live_again(page, live_server, any_media):
    refused = {"polling": True}
    page.add_init_script(WEBSOCKET_REFUSER)
    page.route(SOCKET_IO, lambda route: route.abort() if refused["polling"] else route.continue_())
    session_id = start_run(live_server, media_url(any_media, "slow"))
    page.goto(f"/?session={session_id}")
    expect(field(page, "connection")).to_have_text("Polling")
    expect(stage(page, 1)).to_have_attribute("data-status", "running")
    page.wait_for_function(
        "Number(document.querySelector('[data-field=\"overall-bar\"]').getAttribute('aria-valuenow')) > 0")
    expect(page.locator("#monitor .log-line").first).to_be_visible()
    screenshot(page, "monitor-5-polling")

    refused["polling"] = False  # the socket client's next retry gets through
    page.evaluate("window.__refuseWebSocket = false")
    expect(field(page, "connection")).to_have_text("Connected", timeout=20_000)
    expect(field(page, "state")).to_have_text("Completed", timeout=60_000)
    logged = [event["message"] for event in stored_events(live_server, session_id, "log_stream")]
    page.wait_for_function(f"document.querySelectorAll('#monitor .log-line').length >= {len(logged)}")
    assert log_messages(page) == logged  # nothing missed or shown twice across the switch
    # The refused socket.io requests are logged by the browser; nothing else went wrong.
    assert [error for error in page.errors if "net::ERR_FAILED" not in error] == []


def test_titles_and_log_lines_from_outside_are_text(page, live_server, any_media):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    title = "<img src=x onerror=alert(document.domain)>"
    url = media_url(any_media, "fast", "%3Cimg%20src%3Dx%20onerror%3Dalert(document.domain)%3E")
    page.goto("/")
    choose_transcript_only(page)
    page.get_by_label("Video or media URL").fill(url)
    page.get_by_role("button", name="Start").click()
    expect(field(page, "title")).to_have_text(title, timeout=30_000)
    expect(page.locator("#monitor .log-message", has_text=f"Media: {title} (generic)")).to_have_count(1)
    expect(field(page, "state")).to_have_text("Completed", timeout=60_000)
    screenshot(page, "monitor-6-title-as-text")
    session_id = page.locator("#monitor").get_attribute("data-session-id")

    page.goto("/runs")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    page.goto(f"/runs/{session_id}")
    expect(page.locator("h1")).to_have_text(title)
    page.goto("/")
    expect(page.get_by_role("link", name=title).first).to_be_visible()
    assert page.locator("main img").count() == 0
    assert dialogs == []
    assert page.errors == []


def test_a_failed_stage_is_marked_with_its_error(page, live_server, any_media):
    page.goto("/")
    choose_transcript_only(page)
    page.get_by_label("Video or media URL").fill(f"{any_media}/fast/missing-{id(page)}.txt")
    page.get_by_role("button", name="Start").click()
    expect(field(page, "state")).to_have_text("Failed", timeout=30_000)
    expect(stage(page, 1)).to_have_attribute("data-status", "failed")
    expect(stage(page, 1).locator('[data-role="sub-stage"]')).to_contain_text("404")
    expect(stage(page, 1).locator('[data-role="status-text"]')).to_have_text(", failed")
    expect(stage(page, 2)).to_have_attribute("data-status", "pending")
    expect(field(page, "message")).to_contain_text("Failed: ")
    expect(page.locator('[data-action="cancel"]')).to_be_disabled()
    screenshot(page, "monitor-7-failed")
    assert page.errors == []


def test_an_unknown_run_says_so(page, live_server):
    page.goto("/?session=no-such-run")
    expect(field(page, "message")).to_have_text("There is no run with this session_id.")
    expect(page.locator('[data-action="cancel"]')).to_be_disabled()


def test_a_queued_run_waits_then_runs(page, live_server, any_media):
    first = start_run(live_server, media_url(any_media, "slow"))
    second = start_run(live_server, media_url(any_media, "fast"))
    page.goto(f"/?session={second}")
    expect(field(page, "state")).to_have_text("Queued")
    expect(field(page, "message")).to_have_text("Waiting for a free slot (position 1 in the queue)")
    expect(page.locator('[data-action="cancel"]')).to_be_enabled()
    screenshot(page, "monitor-8-queued")
    requests.post(f"{live_server.url}/api/pipeline/cancel/{first}", json={}, timeout=10)
    expect(field(page, "state")).to_have_text(re.compile("Running|Completed"), timeout=15_000)
    expect(field(page, "state")).to_have_text("Completed", timeout=60_000)
    expect(stage(page, 2)).to_have_attribute("data-status", "completed")
    assert page.errors == []
