"""The batch page in a real browser: a feed started from the dashboard form, watched entry by
entry through the whole batch, with a reload on the way; a bad URL list named in the form, a
list file uploaded from it, and Cancel all from the page."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser_support import PHONE, choose_transcript_only, screenshot
from tests.media_support import write_feed

# Records every value the batch's overall bar takes.
OVERALL_RECORDER = """() => {
  const bar = document.querySelector('#batch [data-field="overall-bar"]');
  window.__overall = [Number(bar.getAttribute("aria-valuenow"))];
  new MutationObserver(() => window.__overall.push(Number(bar.getAttribute("aria-valuenow"))))
    .observe(bar, { attributes: true, attributeFilter: ["aria-valuenow"] });
}"""


@pytest.fixture(scope="module")
def site(media_site):
    """The loopback media server; its folder holds this module's feeds."""
    return media_site


def entry(page, position):
    return page.locator(f'#batch .batch-entry[data-position="{position}"]')


def field(page, name):
    return page.locator(f'#batch [data-field="{name}"]')


def test_the_batch_page_follows_a_feed_from_the_form_to_the_end(page, live_server, site):
    tag = uuid.uuid4().hex[:8]
    feed = write_feed(site.folder, f"show-{tag}.rss", site.url, [
        ("First <b>talk</b>", f"slow/first-{tag}.mp4", "0:23"),
        ("Second talk", f"slow/second-{tag}.mp4", "0:23")], title="The <i>test</i> show")
    page.goto("/")
    choose_transcript_only(page)
    page.get_by_label("Video or media URL").fill(feed)
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/batches/[0-9a-f]{32}$"))
    batch_id = page.url.rsplit("/", 1)[1]
    page.evaluate(OVERALL_RECORDER)

    expect(field(page, "title")).to_have_text("The <i>test</i> show")
    expect(field(page, "connection")).to_have_text("Connected")
    expect(entry(page, 1).locator('[data-field="entry-title"]')).to_have_text("First <b>talk</b>")
    assert page.locator("#batch b, #batch i").count() == 0   # outside text stays text
    expect(entry(page, 1)).to_have_attribute("data-state", "running")
    expect(entry(page, 2)).to_have_attribute("data-state", "queued")
    expect(entry(page, 1).locator('[data-field="entry-stage"]')).to_have_text(
        re.compile(r"^1\. Media Extraction"))
    expect(field(page, "state")).to_have_text("running")
    expect(page.locator('[data-action="cancel-all"]')).to_be_enabled()
    expect(page.locator('[data-action="retry"]')).to_be_disabled()
    elapsed = field(page, "elapsed").text_content()
    expect(field(page, "elapsed")).not_to_have_text(elapsed)   # the clock runs
    assert re.fullmatch(r"\d\d:\d\d", field(page, "remaining").text_content())
    screenshot(page, "batch-1-first-entry")
    before_reload = page.evaluate("window.__overall")

    expect(entry(page, 1)).to_have_attribute("data-state", "completed", timeout=60_000)
    page.reload()   # reattaches: the snapshot, then the events after it
    page.evaluate(OVERALL_RECORDER)
    expect(entry(page, 1)).to_have_attribute("data-state", "completed")
    expect(entry(page, 1).locator('[data-field="entry-percent"]')).to_have_text("100.0%")
    expect(entry(page, 2)).to_have_attribute("data-state", re.compile("queued|running"))
    expect(entry(page, 2)).to_have_attribute("data-state", "running", timeout=30_000)
    screenshot(page, "batch-2-second-entry")

    expect(field(page, "state")).to_have_text("completed", timeout=90_000)
    for position in (1, 2):
        expect(entry(page, position)).to_have_attribute("data-state", "completed")
        expect(entry(page, position).locator('[data-field="entry-bar"]')).to_have_attribute(
            "aria-valuenow", "100")
    expect(field(page, "overall-bar")).to_have_attribute("aria-valuenow", "100")
    expect(field(page, "progress-text")).to_have_text("100.0%")
    expect(field(page, "remaining")).to_have_text("00:00")
    expect(field(page, "counts")).to_have_text("2 completed")
    expect(page.locator('[data-action="cancel-all"]')).to_be_disabled()
    expect(page.locator('[data-action="retry"]')).to_be_disabled()
    screenshot(page, "batch-3-completed")
    page.set_viewport_size(PHONE)
    expect(entry(page, 2).locator('[data-field="entry-percent"]')).to_be_visible()
    screenshot(page, "batch-3-completed-phone")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide

    after_reload = page.evaluate("window.__overall")
    for values in (before_reload, after_reload):
        assert values == sorted(values), values
    assert before_reload[-1] <= after_reload[0] and after_reload[-1] == 100
    snapshot = page.request.get(f"/api/batches/{batch_id}").json()
    for item in snapshot["entries"]:
        link = entry(page, item["position"]).locator('[data-field="entry-monitor"]')
        expect(link).to_have_attribute("href", f"/?session={item['session_id']}")
    entry(page, 2).locator('[data-field="entry-monitor"]').click()
    expect(page.locator("#monitor")).to_have_attribute("data-session-id",
                                                       snapshot["entries"][1]["session_id"])
    expect(page.locator('#monitor [data-field="state"]')).to_have_text("Completed")
    page.goto("/batches")
    expect(page.get_by_role("link", name="The <i>test</i> show").first).to_be_visible()
    assert page.errors == []


def test_a_url_list_file_from_the_form_and_cancel_all(page, live_server, site):
    tag = uuid.uuid4().hex[:8]
    page.goto("/")
    choose_transcript_only(page)
    page.locator("details.batch-input summary").click()
    page.get_by_label("Several URLs, one a line").fill(f"{site.url}/a-{tag}.mp4\nnot a <url>")
    page.get_by_role("button", name="Start").click()
    expect(page.locator('[data-field="form-error"]')).to_contain_text("line 2 ('not a <url>')")
    page.get_by_label("Several URLs, one a line").fill("")
    listed = "\n".join(f"{site.url}/slow/cancel-{tag}-{n}.mp4" for n in range(3))
    page.get_by_label("Or a text file of URLs, one a line").set_input_files(
        files=[{"name": "list.txt", "mimeType": "text/plain", "buffer": listed.encode()}])
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/batches/[0-9a-f]{32}$"))
    expect(field(page, "title")).to_have_text("URL list list.txt")
    expect(entry(page, 1)).to_have_attribute("data-state", "running")
    page.get_by_role("button", name="Cancel all").click()
    expect(field(page, "state")).to_have_text("cancelled", timeout=15_000)
    for position in (1, 2, 3):
        expect(entry(page, position)).to_have_attribute("data-state", "cancelled")
    expect(page.locator('[data-action="retry"]')).to_be_enabled()
    screenshot(page, "batch-4-cancelled")
    # The refused list's 400 is the only resource that failed to load.
    assert [error for error in page.errors if "status of 400" not in error] == []
