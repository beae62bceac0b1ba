"""Browser-test support: Chromium through Playwright, and helpers.

The fixtures are made available to every test module by tests/conftest.py; the media server
(`any_media`) is tests/media_support.MediaServer.
"""
import shutil
from pathlib import Path

import pytest
import requests

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path():
    """Debian's chromium, or None when it is not installed."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright, for one test module.

    Closed after each module, so no Playwright driver process outlives the browser tests
    (other tests check that the pipeline leaves no child process behind).
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def finish_runs(live_server, timeout=30):
    """Cancel whatever still runs and wait until the pipeline is idle."""
    pipeline = live_server.app.extensions["pipeline"]
    with live_server.app.app_context():
        from storage.database import db
        from storage.models import ACTIVE_STATES, Run

        active = db.session.scalars(db.select(Run.session_id).where(
            Run.state.in_(ACTIVE_STATES))).all()
        for session_id in active:   # a waiting run is cancelled in the database: needs the context
            pipeline.cancel(session_id)
    pipeline.runner.wait_idle(timeout)


def open_page(browser, base_url):
    """A fresh desktop-sized page on `base_url` in its own context, collecting console errors
    and page errors in `page.errors`."""
    context = browser.new_context(viewport=DESKTOP, base_url=base_url)
    opened = context.new_page()
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.on("console", lambda message: message.type == "error"
              and opened.errors.append(message.text))
    opened.set_default_timeout(30_000)
    return opened


@pytest.fixture
def page(browser, live_server):
    """A fresh desktop-sized page; console errors and page errors are collected on it.

    Runs left going by a test are cancelled afterwards, so the next test starts at once.
    """
    opened = open_page(browser, live_server.url)
    yield opened
    opened.context.close()
    finish_runs(live_server)


def screenshot(page, name):
    """Save a full-page screenshot under test-artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def stored_events(live_server, session_id, kind=None):
    """The run's stored events (optionally of one kind), from the HTTP API."""
    body = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}?since=0",
                        timeout=10).json()
    return [item["data"] for item in body["events"] if kind is None or item["event"] == kind]


def choose_transcript_only(page):
    """Pick the "Transcript only" preset on the dashboard (the form starts with a full episode)."""
    page.get_by_label("Preset").select_option("Transcript only")
