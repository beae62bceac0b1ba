"""The pages' state-changing requests in a real browser carry what the CSRF check asks for: the
scripts send the page's token in X-CSRF-Token, the forms post their hidden field."""
import re
import uuid

import requests
from playwright.sync_api import expect

from tests.media_support import media_url
from tests.segment_support import make_run
from tests.server_support import start_run, wait_state
from tests.test_browser_monitor import SOCKET_IO, WEBSOCKET_REFUSER

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def record_posts(page):
    """Every state-changing request the page sends, with its answer's status, as it comes."""
    sent = []

    def answered(response):
        request = response.request
        if request.method in STATE_CHANGING:
            sent.append({"url": request.url, "headers": request.headers,
                         "status": response.status})

    page.on("response", answered)
    return sent


def page_token(page):
    return page.locator('meta[name="csrf-token"]').get_attribute("content")


def test_cancel_over_http_sends_the_token(page, live_server, any_media):
    page.add_init_script(WEBSOCKET_REFUSER)   # no socket: Cancel goes over HTTP
    page.route(SOCKET_IO, lambda route: route.abort())
    sent = record_posts(page)
    session_id = start_run(live_server, media_url(any_media, "slow"))
    page.goto(f"/?session={session_id}")
    expect(page.locator('#monitor [data-field="connection"]')).to_have_text("Polling")
    page.locator('#monitor [data-action="cancel"]').click()
    expect(page.locator('#monitor [data-field="state"]')).to_have_text("Cancelled", timeout=15_000)
    assert wait_state(live_server, session_id)["state"] == "cancelled"
    cancels = [item for item in sent if "/api/pipeline/cancel/" in item["url"]]
    assert cancels and cancels[0]["status"] == 200
    assert cancels[0]["headers"]["x-csrf-token"] == page_token(page)


def test_cancel_all_and_retry_on_the_batch_page_send_the_token(page, live_server, any_media):
    urls = "\n".join(media_url(any_media, "slow", f"csrf-{uuid.uuid4().hex[:6]}-{n}.mp4")
                     for n in range(2))
    batch_id = requests.post(f"{live_server.url}/pipeline/execute",
                             json={"urls": urls, "selected_stages": [1]}, timeout=10).json()["batch_id"]
    page.goto(f"/batches/{batch_id}")
    token = page_token(page)
    for button, action in (("Cancel all", "/cancel"), ("Retry failed", "/retry")):
        expect(page.get_by_role("button", name=button)).to_be_enabled(timeout=15_000)
        with page.expect_response(lambda response, end=action: response.url.endswith(end)) as got:
            page.get_by_role("button", name=button).click()
        answer = got.value
        assert answer.status == 200, (action, answer.text())
        assert answer.request.headers["x-csrf-token"] == token
        if action == "/cancel":
            expect(page.locator('#batch [data-field="state"]')).to_have_text("cancelled",
                                                                             timeout=15_000)
    assert page.locator('#batch [data-field="problem"]').text_content() == ""


def test_the_delete_button_of_a_preset_posts_its_form(page, live_server):
    name = f"Doomed {uuid.uuid4().hex[:6]}"
    created = requests.post(f"{live_server.url}/api/presets", json={"name": name, "stages": [1]},
                            timeout=10).json()
    sent = record_posts(page)
    page.goto("/presets")
    page.get_by_role("button", name=f"Delete {name}").click()
    expect(page).to_have_url(re.compile(r"/presets$"))
    assert requests.get(f"{live_server.url}/api/presets/{created['id']}", timeout=10).status_code == 404
    assert [item["status"] for item in sent] == [303]
    assert page.errors == []


def test_re_run_with_a_new_selection_from_the_run_page(page, live_server):
    session_id = make_run(live_server.app, state="completed")
    sent = record_posts(page)
    page.goto(f"/runs/{session_id}")
    page.get_by_role("button", name="Re-run with a new selection").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(re.compile(f"/runs/{session_id}$"))
    assert len(sent) == 1 and sent[0]["status"] in (202, 303), sent   # not refused
