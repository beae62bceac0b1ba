"""The segment review routes through the test client: the page, its data and peaks, and the
checks on Continue. The waiting runs come from tests/segment_support.py; Continue then goes on
through the real pipeline."""
import uuid

import pytest

from tests.segment_support import DURATION, RATE, make_run, waiting  # noqa: F401
from tests.server_support import csrf_token, wait_state

UNKNOWN = uuid.uuid4().hex
TOO_LONG = "a" * 65


@pytest.mark.parametrize("session_id", [UNKNOWN, TOO_LONG])
def test_unknown_runs_are_404(client, session_id):
    assert client.get(f"/runs/{session_id}/segments").status_code == 404
    for answer in (client.get(f"/api/runs/{session_id}/segments"),
                   client.get(f"/api/runs/{session_id}/peaks"),
                   client.post(f"/runs/{session_id}/segments",
                               json={"segments": [{"start": 1, "end": 20}]})):
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == "unknown_run"


def test_page_of_a_waiting_run_offers_continue(client, waiting):
    page = client.get(f"/runs/{waiting}/segments")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-awaiting="true"' in text and 'data-action="continue"' in text
    assert 'data-action="reset"' in text and "wavesurfer-8.0.1.regions.min.js" in text
    assert "&lt;b&gt;Talk&lt;/b&gt;" in text and "<b>Talk</b>" not in text
    assert 'data-field="read-only"' not in text


def test_page_of_a_finished_run_is_read_only(client, app):
    session_id = make_run(app, state="completed")
    text = client.get(f"/runs/{session_id}/segments").get_data(as_text=True)
    assert 'data-awaiting="false"' in text and 'data-field="read-only"' in text
    assert f'href="/runs/{session_id}"' in text
    assert 'data-action="continue"' not in text and 'data-action="add-sentences"' not in text


def test_data_route_sends_everything_but_the_wav_path(client, waiting):
    body = client.get(f"/api/runs/{waiting}/segments").get_json()
    assert "wav" not in body
    assert body["awaiting"] is True and body["status"] == "proposed"
    assert body["duration"] == DURATION and body["bounds"]["min_seconds"] == 15
    assert [(s["start"], s["end"]) for s in body["segments"]] == [(10.0, 39.0), (60.0, 89.0)]
    assert len(body["sentences"]) == 12 and body["sentences"][3]["text"] == "Sentence <b>3</b>."
    assert len(body["words"]) == 60 and body["words"][0] == [0.0, 1.8]
    assert body["chapters"][0]["title"] == "<i>All</i>" and body["audio"] == "audio.wav"


def test_peaks_route_draws_the_loud_and_the_silent_half(client, waiting):
    answer = client.get(f"/api/runs/{waiting}/peaks")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["duration"] == DURATION and body["sample_rate"] == RATE
    peaks = body["peaks"]
    assert len(peaks) == 12_000
    assert min(peaks[:5900]) > 0.5 and max(peaks[6100:]) == 0.0


def test_peaks_route_without_audio_is_404(client, app):
    session_id = make_run(app, state="completed", audio=False)
    answer = client.get(f"/api/runs/{session_id}/peaks")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "no_audio"


@pytest.mark.parametrize("body, code", [
    ('[]', "invalid_body"),
    ('"segments"', "invalid_body"),
    ('{"segments": {"start": 1, "end": 20}}', "invalid_selection"),
    ('{"segments": "10-30"}', "invalid_selection"),
    ('{}', "invalid_selection"),
    ('{"segments": [' + ",".join(['{"start": 1, "end": 20}'] * 101) + ']}', "too_many_segments"),
    ('{"segments": [{"start": NaN, "end": 20}]}', "invalid_segment"),
    ('{"segments": [{"start": 1, "end": Infinity}]}', "invalid_segment"),
    ('{"segments": [{"start": -Infinity, "end": 20}]}', "invalid_segment"),
    ('{"segments": [{"start": 1e400, "end": 20}]}', "invalid_segment"),
    ('{"segments": [{"start": 1, "end": 1' + "0" * 400 + '}]}', "invalid_segment"),
    ('{"segments": [{"start": "1", "end": "20"}]}', "invalid_segment"),
    ('{"segments": [{"start": true, "end": 20}]}', "invalid_segment"),
    ('{"segments": [{"start": null, "end": 20}]}', "invalid_segment"),
    ('{"segments": [{"start": 1}]}', "invalid_segment"),
    ('{"segments": [[1, 20]]}', "invalid_segment"),
    ('{"segments": [{"start": 1, "end": 20}], "accept_warnings": "yes"}', "invalid_accept_warnings"),
    ('{"segments": [' * 5000 + ']}' * 5000, "invalid_body"),
    ('{"segments": [', "invalid_body"),
])
def test_malformed_bodies_are_400_json(client, waiting, body, code):
    answer = client.post(f"/runs/{waiting}/segments", data=body, content_type="application/json")
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    error = answer.get_json()["error"]
    assert error["code"] == code and error["message"] and "field" in error


def test_a_form_post_is_refused_without_a_500(client, waiting):
    answer = client.post(f"/runs/{waiting}/segments",
                         data={"segments": "1-20", "csrf_token": csrf_token(client)})
    assert answer.status_code == 400


@pytest.mark.parametrize("segments, code", [
    ([], "empty_selection"),
    ([{"start": 10, "end": 20}], "too_short"),
    ([{"start": 10, "end": 40}, {"start": 30, "end": 60}], "overlap"),
    ([{"start": 100, "end": 130}], "outside_media"),
    ([{"start": 40, "end": 20}], "invalid_segment"),
])
def test_selections_the_back_end_refuses_are_400(client, waiting, segments, code):
    answer = client.post(f"/runs/{waiting}/segments", json={"segments": segments})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["error"]["code"] == code and body["warnings"] == []


def test_a_long_segment_needs_confirmation_then_continues(client, app, waiting):
    chosen = [{"start": 0.0, "end": 79.0}, {"start": 90.0, "end": 109.0}]
    answer = client.post(f"/runs/{waiting}/segments", json={"segments": chosen})
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["error"]["code"] == "needs_confirmation"
    assert len(body["warnings"]) == 1 and "79.0 s" in body["warnings"][0]
    assert client.get(f"/api/runs/{waiting}/segments").get_json()["status"] == "proposed"

    answer = client.post(f"/runs/{waiting}/segments",
                         json={"segments": chosen, "accept_warnings": True})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] in ("started", "queued") and body["session_id"] == waiting
    assert [(s["start"], s["end"]) for s in body["segments"]] == [(0.0, 79.0), (90.0, 109.0)]
    assert wait_state(client, waiting, timeout=60)["state"] == "completed"
    saved = client.get(f"/api/runs/{waiting}/segments").get_json()
    assert saved["status"] == "confirmed" and saved["awaiting"] is False
    assert [(s["start"], s["end"]) for s in saved["segments"]] == [(0.0, 79.0), (90.0, 109.0)]

    again = client.post(f"/runs/{waiting}/segments", json={"segments": chosen, "accept_warnings": True})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_awaiting_selection"
