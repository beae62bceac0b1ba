"""The log panel and the formatting helpers, driven in the browser with made-up log lines."""
from playwright.sync_api import expect

from tests.browser_support import screenshot

# A LogPanel on the dashboard's (hidden) monitor, keeping at most 50 lines on the page.
MAKE_PANEL = """async () => {
  const { LogPanel } = await import("/static/js/log-panel.js");
  const root = document.getElementById("monitor");
  root.hidden = false;
  window.panel = new LogPanel(root, 50);
  window.addLines = (count, level = "INFO", from = 0) => {
    for (let i = from; i < from + count; i += 1) {
      window.panel.add({ level, logger: "pipeline", message: `line ${i} <b>bold</b>`,
                         timestamp: "2026-01-01T10:00:00.000Z" });
    }
  };
}"""


def panel_state(page):
    return page.evaluate("""() => {
      const box = document.querySelector('[data-field="log"]');
      const visible = [...box.children].filter((line) => line.offsetParent !== null);
      return { lines: box.childElementCount, visible: visible.length,
               atEnd: box.scrollHeight - box.scrollTop - box.clientHeight < 8,
               top: box.scrollTop };
    }""")


def test_log_panel_caps_filters_follows_and_copies(page, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    page.evaluate(MAKE_PANEL)
    page.evaluate("addLines(100); addLines(10, 'WARNING', 100); addLines(5, 'ERROR', 110)")
    log = page.locator('[data-field="log"]')
    follow = page.get_by_label("Follow new lines")
    expect(log.locator(".log-line")).to_have_count(50)
    expect(page.locator('[data-field="log-hidden"]')).to_have_text(
        "65 older lines hidden (the page keeps the last 50; Copy log copies them all).")
    expect(log.locator(".log-message").last).to_have_text("line 114 <b>bold</b>")
    assert log.locator("b").count() == 0
    page.wait_for_function("""() => { const box = document.querySelector('[data-field="log"]');
      return box.scrollHeight - box.scrollTop - box.clientHeight < 8; }""")

    # Scrolling up stops following: new lines leave the view where the reader put it.
    log.hover()
    page.mouse.wheel(0, -400)
    expect(follow).not_to_be_checked()
    top = panel_state(page)["top"]
    page.evaluate("addLines(5, 'INFO', 200)")
    page.wait_for_timeout(100)  # one frame or more: a follow would have scrolled by now
    assert panel_state(page)["top"] == top and not panel_state(page)["atEnd"]
    screenshot(page, "log-panel-scrolled-up")
    # Back to the end by keyboard: following again.
    log.focus()
    page.keyboard.press("End")
    expect(follow).to_be_checked()

    page.get_by_label("Level").select_option("warning")
    page.wait_for_function("""() => [...document.querySelectorAll('.log-line')]
      .filter((line) => line.offsetParent !== null).length === 15""")
    page.get_by_role("button", name="Copy log").click()
    expect(page.locator('[data-field="copy-status"]')).to_have_text("Copied 15 lines.")
    copied = page.evaluate("navigator.clipboard.readText()").splitlines()
    assert len(copied) == 15
    assert copied[0] == "10:00:00 WARNING  pipeline: line 100 <b>bold</b>"
    assert copied[-1].startswith("10:00:00 ERROR    pipeline: line 114")

    page.get_by_label("Level").select_option("debug")
    page.get_by_role("button", name="Copy log").click()
    expect(page.locator('[data-field="copy-status"]')).to_have_text("Copied 120 lines.")
    assert page.errors == []


def test_clock_and_amount_formats(page, live_server):
    page.goto("/")
    formatted = page.evaluate("""async () => {
      const f = await import("/static/js/format.js");
      return [f.clock(0), f.clock(65), f.clock(3599.6), f.clock(3725), f.clock(null),
              f.progressCount({ current: 1536, total: 3145728, unit: "bytes" }),
              f.progressCount({ current: 12.4, total: 83, unit: "s" }),
              f.progressCount({ current: 3, total: 12, unit: "clips" }),
              f.progressCount({ current: 2048, total: null, unit: "bytes" }),
              f.fileUrl("abc", "clips/01 intro?.m4a")];
    }""")
    assert formatted == ["00:00", "01:05", "1:00:00", "1:02:05", "--:--",
                         "1.5 KiB/3.0 MiB", "00:12/01:23", "3/12 clips", "2.0 KiB",
                         "/runs/abc/files/clips/01%20intro%3F.m4a"]
