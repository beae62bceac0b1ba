"""The one request checker (services/run_request.py): options are normalised once, folded into
the settings, and the stages read only the settings."""
import copy

import pytest

from services import run_request
from services.config.loading import DEFAULTS
from services.engine.cancel import CancelToken
from services.engine.context import StageContext
from services.input_checks import ValidationError
from services.stages import media_extraction, transcription

URL = "http://127.0.0.1:9/talk.mp4"
NO_PRESETS = run_request.PresetSource(by_name=lambda name: None, names=lambda: [],
                                      asset_exists=lambda name: False)
DECODING = ("vad_filter", "condition_on_previous_text", "temperature_fallback", "word_timestamps")


@pytest.fixture
def config(tmp_path):
    settings = copy.deepcopy(DEFAULTS)
    settings["data_dir"] = str(tmp_path)
    return settings


def checked(config, tmp_path, **options):
    data = {"youtube_url": URL, "selected_stages": [1, 2], "options": options}
    return run_request.check_run_request(data, config, tmp_path / "episodes", NO_PRESETS)


def stage_parameters(stage, spec):
    """What a stage reads of a checked run: its parameters, from the settings alone."""
    ctx = StageContext(spec.session_id, spec.url, spec.episode_dir, spec.settings,
                       CancelToken(), reporter=None)
    return stage.parameters(ctx)


@pytest.mark.parametrize("name", DECODING)
@pytest.mark.parametrize("sent, meant", [("off", False), ("false", False), ("FALSE", False),
                                         (False, False), ("on", True), ("true", True),
                                         (True, True)])
def test_a_boolean_option_means_what_it_says_in_the_stage(config, tmp_path, name, sent, meant):
    # the configuration says the opposite, so the option alone decides
    config["whisper"][name] = not meant
    spec = checked(config, tmp_path, **{name: sent}).spec
    assert stage_parameters(transcription, spec)[name] is meant
    assert spec.settings["whisper"][name] is meant


@pytest.mark.parametrize("name", (*DECODING, "review_segments", "llm", "force"))
@pytest.mark.parametrize("sent", ["yes", "no", "1", "0", 1, 0, "maybe", [], {}, 2 ** 70])
def test_a_boolean_option_takes_only_true_or_false(config, tmp_path, name, sent):
    with pytest.raises(ValidationError) as refused:
        checked(config, tmp_path, **{name: sent})
    assert refused.value.field == f"options.{name}"
    assert refused.value.code == "invalid_option"


@pytest.mark.parametrize("name", ["vad_filtr", "", "\u00e9t\u00e9", "x" * 500])
def test_an_unknown_option_is_refused_by_name(config, tmp_path, name):
    with pytest.raises(ValidationError) as refused:
        checked(config, tmp_path, **{name: True})
    assert refused.value.field.startswith("options.")
    assert len(refused.value.field) <= len("options.") + 60


def test_run_only_options_fold_into_their_settings(config, tmp_path):
    run = checked(config, tmp_path, format="bestaudio[ext=m4a]", language="de",
                  episode_mode="highlights", force="on")
    assert run.spec.settings["download"]["format"] == "bestaudio[ext=m4a]"
    assert run.spec.settings["whisper"]["language"] == "de"
    assert run.spec.settings["production"]["episode_mode"] == "highlights"
    assert run.spec.force is True
    assert stage_parameters(transcription, run.spec)["language"] == "de"
    assert run.effective["episode_mode"] == "highlights"


@pytest.mark.parametrize("value", ["a\nb", "x" * 501, 5, ["best"]])
def test_a_bad_download_format_is_refused(config, tmp_path, value):
    with pytest.raises(ValidationError) as refused:
        checked(config, tmp_path, format=value)
    assert refused.value.field == "options.format"


def test_stored_options_give_the_same_settings_on_resume(config, tmp_path):
    run = checked(config, tmp_path, vad_filter="off", word_timestamps="false", force=True)
    stored = run.spec.options
    assert stored == {"vad_filter": False, "word_timestamps": False, "force": True}
    again = run_request.run_settings(config, run.effective, stored)
    assert again["whisper"]["vad_filter"] is False
    assert again["whisper"]["word_timestamps"] is False
    # a stored value from an older version that no longer passes is left out, not guessed
    older = run_request.run_settings(config, run.effective, {"word_timestamps": "off-ish"})
    assert older["whisper"]["word_timestamps"] is DEFAULTS["whisper"]["word_timestamps"]


def test_creator_subtitles_follow_the_checked_settings(config, tmp_path):
    config["whisper"]["prefer_creator_subtitles"] = True
    spec = checked(config, tmp_path, language="fr").spec
    assert stage_parameters(media_extraction, spec)["creator_subtitles"] == {"language": "fr"}
    off = checked(config, tmp_path, prefer_creator_subtitles="off").spec
    assert "creator_subtitles" not in stage_parameters(media_extraction, off)


def test_the_http_answer_names_the_bad_option(client):
    answer = client.post("/pipeline/execute", json={
        "youtube_url": URL, "selected_stages": [1, 2], "options": {"vad_filter": "yes"}})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "options.vad_filter"
