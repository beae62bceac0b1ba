"""Presets: seeded from config.yaml, created, edited, duplicated, deleted, validated on the
server with the message next to the field, exported and imported, and used by runs."""
import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import presets
from storage import presets as preset_store
from storage.models import Run
from tests.server_support import csrf_token, start_run


def _name():
    return f"Preset {uuid.uuid4().hex[:6]}"


def _create(client, **fields):
    body = {"name": _name(), "stages": [1, 2], **fields}
    answer = client.post("/api/presets", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_the_three_workflows_are_seeded_once(app, client):
    listed = {p["name"]: p for p in client.get("/api/presets").get_json()["presets"]}
    assert listed["Transcript only"]["stages"] == [1, 2]
    assert listed["Full episode"]["stages"] == [1, 2, 3, 4, 5, 6, 7]
    review = listed["Clips with review"]
    assert review["stages"] == [1, 2, 3, 4, 5, 6, 7]
    assert review["settings"]["review_segments"] is True
    assert review["settings"]["episode_mode"] == "highlights"
    with app.app_context():  # a second start does not bring back what the user deleted
        assert preset_store.seed([{"name": "Never stored", "stages": [1]}]) == 0
        assert preset_store.by_name("Never stored") is None


def test_create_edit_duplicate_delete_through_the_pages(client):
    token = csrf_token(client, "/presets/new")
    name = _name()
    form = {"csrf_token": token, "name": name, "description": "For interviews",
            "stages": ["1", "2", "3"], "beam_size": "3", "clip_count": "4",
            "episode_mode": "highlights", "vad_filter": "on", "language": ""}
    answer = client.post("/presets", data=form)
    assert answer.status_code == 303
    stored = next(p for p in client.get("/api/presets").get_json()["presets"] if p["name"] == name)
    assert stored["stages"] == [1, 2, 3]
    assert stored["settings"]["beam_size"] == 3 and stored["settings"]["clip_count"] == 4
    assert stored["settings"]["vad_filter"] is True and stored["settings"]["language"] is None
    assert stored["settings"]["loudness_lufs"] is None  # empty: the configuration's value

    edit_page = client.get(f"/presets/{stored['id']}").get_data(as_text=True)
    assert 'value="3"' in edit_page and "For interviews" in edit_page
    form.update(beam_size="7", name=name + " v2")
    assert client.post(f"/presets/{stored['id']}", data=form).status_code == 303
    changed = client.get(f"/api/presets/{stored['id']}").get_json()
    assert changed["settings"]["beam_size"] == 7 and changed["name"] == name + " v2"

    copy = client.post(f"/presets/{stored['id']}/duplicate", data={"csrf_token": token})
    assert copy.status_code == 303
    copy_id = int(copy.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    duplicate = client.get(f"/api/presets/{copy_id}").get_json()
    assert duplicate["name"] == f"{name} v2 (copy)"
    assert duplicate["settings"] == changed["settings"] and duplicate["stages"] == changed["stages"]

    assert client.post(f"/presets/{copy_id}/delete", data={"csrf_token": token}).status_code == 303
    assert client.get(f"/api/presets/{copy_id}").status_code == 404
    assert client.get(f"/presets/{copy_id}").status_code == 404


@pytest.mark.parametrize("field, value, words", [
    ("beam_size", "²", "whole number"),
    ("beam_size", "0", "from 1 to 10"),
    ("clip_min_seconds", "nan", "number"),
    ("loudness_lufs", "-5", "from -30 to -10"),
    ("episode_mode", "podcast", "full, highlights"),
    ("language", "klingon", "language code"),
    ("whisper_model", "/nowhere/model", "inside the models folder"),
    ("whisper_model", "no-such-model", "model.bin"),
    ("intro", "deleted-intro.mp3", "not among the assets"),
    ("stages", [], "at least one stage"),
])
def test_bad_values_are_shown_next_to_the_field_and_never_stored(client, field, value, words):
    token = csrf_token(client, "/presets/new")
    name = _name()
    form = {"csrf_token": token, "name": name, "stages": ["1", "2"]}
    form[field] = value
    answer = client.post("/presets", data=form)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    message = re.search(rf'data-error-for="{field}"[^>]*>([^<]*)</p>', page).group(1)
    assert words.lower() in message.lower(), message
    assert preset_name_absent(client, name)
    api = client.post("/api/presets", json={"name": name, "stages": [1, 2], field: value})
    assert api.status_code == 400
    assert api.get_json()["error"]["field"] == field
    assert preset_name_absent(client, name)


def preset_name_absent(client, name):
    return all(p["name"] != name for p in client.get("/api/presets").get_json()["presets"])


def test_clip_bounds_and_names_are_checked_together(client):
    answer = client.post("/api/presets", json={"name": _name(), "stages": [4],
                                               "clip_min_seconds": 40, "clip_max_seconds": 20})
    assert answer.get_json()["error"]["field"] == "clip_max_seconds"
    first = _create(client)
    same = client.post("/api/presets", json={"name": first["name"], "stages": [1]})
    assert same.status_code == 400 and same.get_json()["error"]["field"] == "name"
    typo = client.post("/api/presets", json={"name": _name(), "stages": [1], "beamsize": 3})
    assert typo.status_code == 400 and typo.get_json()["error"]["field"] == "beamsize"
    replaced = client.put(f"/api/presets/{first['id']}", json={"name": first["name"], "stages": [1, 2, 3],
                                                              "beam_size": 4})
    assert replaced.status_code == 200 and replaced.get_json()["settings"]["beam_size"] == 4
    refused = client.put(f"/api/presets/{first['id']}", json={"name": first["name"], "stages": [9]})
    assert refused.status_code == 400 and refused.get_json()["error"]["field"] == "stages"
    assert client.get(f"/api/presets/{first['id']}").get_json()["stages"] == [1, 2, 3]


def test_export_then_import_gives_the_same_preset(client):
    original = _create(client, stages=[1, 2, 3, 4], clip_count=5, clip_min_seconds=10,
                       clip_max_seconds=40.5, review_segments=True, loudness_lufs=-18,
                       output_format="mp3", music_level_db=-24, llm=False, language="de")
    exported = client.get(f"/presets/{original['id']}/export")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    document = json.loads(exported.get_data(as_text=True))
    assert document["format"] == presets.EXPORT_FORMAT and document["version"] == 1
    imported = client.post("/api/presets/import", json=document)
    assert imported.status_code == 201
    copy = imported.get_json()
    assert copy["name"] == f"{original['name']} (2)"  # the name was taken: a free one
    assert copy["settings"] == original["settings"] and copy["stages"] == original["stages"]

    token = csrf_token(client, "/presets")
    document["name"] = _name()
    page_import = client.post("/presets/import", data={"csrf_token": token,
                                                       "document": json.dumps(document)})
    assert page_import.status_code == 303
    assert not preset_name_absent(client, document["name"])


@pytest.mark.parametrize("document, field", [
    ("not json at all", "file"),
    ('{"format": "something-else", "version": 1}', "file"),
    ('{"format": "youtube-pipeline-preset", "version": 99, "name": "x"}', "file"),
    ('{"format": "youtube-pipeline-preset", "version": 1, "name": "ok", "stages": [1], '
     '"settings": {"beam_size": 1e400}}', "beam_size"),
    ('[1, 2, 3]', "file"),
])
def test_a_bad_import_says_why(client, document, field):
    token = csrf_token(client, "/presets")
    before = len(client.get("/api/presets").get_json()["presets"])
    answer = client.post("/presets/import", data={"csrf_token": token, "document": document})
    assert answer.status_code == 400
    assert f'data-field="import-{field}"' in answer.get_data(as_text=True)
    assert len(client.get("/api/presets").get_json()["presets"]) == before


def test_a_run_stores_the_effective_settings_and_overrides_win(app, client, media_server):
    preset = _create(client, stages=[1], clip_count=6, beam_size=2)
    session_id = start_run(client, f"{media_server}/speech.mp4?preset", None,
                           preset=preset["name"], options={"clip_count": "8"})
    with app.app_context():
        run = app.extensions["pipeline"].store  # noqa: F841 - the store writes in its own context
        from storage.database import db
        stored = db.session.scalar(db.select(Run).where(Run.session_id == session_id))
        assert stored.selected_stages == [1]          # the preset's stages
        assert stored.preset == preset["name"]
        assert stored.settings["clip_count"] == 8     # the run's override
        assert stored.settings["beam_size"] == 2      # the preset
        assert stored.settings["loudness_lufs"] == -16.0  # the configuration
    page = client.get(f"/runs/{session_id}").get_data(as_text=True)
    assert "Settings this run used" in page and "Beam size" in page
    from tests.server_support import wait_state
    assert wait_state(client, session_id)["state"] == "completed"


@pytest.mark.parametrize("body, field", [
    ({"preset": "No such preset"}, "preset"),
    ({"preset": 12}, "preset"),
    ({"options": {"clip_count": "²"}}, "options.clip_count"),
    ({"options": {"episode_mode": "radio"}}, "options.episode_mode"),
    ({"options": {"intro": "gone.mp3"}}, "options.intro"),
])
def test_bad_preset_choices_at_run_start_are_400(client, body, field):
    answer = client.post("/pipeline/execute", json={"youtube_url": "http://127.0.0.1:9/x.mp4",
                                                    "selected_stages": [1], **body})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == field


def test_a_preset_whose_asset_was_deleted_says_so_in_its_form_and_at_run_start(app, client):
    with app.app_context():  # stored as if the asset existed when it was saved
        preset_store.save(None, "Branded", "", [1, 2, 3, 4, 5, 6], {"intro": "jingle.m4a"})
        preset_id = preset_store.by_name("Branded").id
    page = client.get(f"/presets/{preset_id}").get_data(as_text=True)
    assert re.search(r'data-error-for="intro"[^>]*>[^<]*not among the assets', page)
    answer = client.post("/pipeline/execute", json={"youtube_url": "http://127.0.0.1:9/x.mp4",
                                                    "preset": "Branded"})
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "missing_asset" and "jingle.m4a" in error["message"]


def test_the_dashboard_offers_the_presets_with_their_stages(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<option value="Clips with review" data-stages="1,2,3,4,5,6,7"', page)
    assert 'name="opt_clip_count"' in page


def test_the_dashboard_starts_with_the_full_episode_preset(client):
    page = client.get("/").get_data(as_text=True)
    chosen = re.findall(r'<option value="([^"]+)" data-stages="[^"]*"\s*selected>', page)
    assert chosen == ["Full episode"]
    ticked = re.findall(r'name="selected_stages" value="(\d)"\s*checked', page)
    assert ticked == [str(number) for number in range(1, 8)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([f.name for f in presets.FIELDS] + ["stages", "name"]),
                       st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 80, max_value=2 ** 80),
                                 st.floats(allow_nan=True), st.text(max_size=30),
                                 st.lists(st.integers(min_value=-2 ** 70, max_value=2 ** 70), max_size=4))))
def test_any_preset_body_is_stored_valid_or_refused_with_a_field(client, body):
    answer = client.post("/api/presets", json=json.loads(json.dumps(body, default=str)))
    assert answer.status_code in (201, 400)
    if answer.status_code == 400:
        assert answer.get_json()["error"]["field"]
    else:
        stored = answer.get_json()
        values, errors = presets.validate({**stored["settings"], "stages": stored["stages"]})
        assert not errors
        client.delete(f"/api/presets/{stored['id']}", json={})


def test_big_and_odd_ids_are_404_not_500(client):
    for path in ("/presets/99999999999999999999999", "/api/presets/2147483648",
                 "/presets/0", "/api/presets/-1", "/presets/%C2%B2"):
        assert client.get(path).status_code == 404, path
