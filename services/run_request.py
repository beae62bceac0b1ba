"""The one request checker: what a client sends to start a run becomes a checked run.

Every way of starting a run (the dashboard's form, JSON over HTTP, `run.py process`, a batch
entry, "Re-run with a new selection") comes through `check_run_request`. It checks the URL,
the stages, the episode folder and the preset, and normalises every option once: a preset
field laid over the preset, a run-only option (decoding switches, the download format) laid
over its setting. The stages read only the run's settings that come out of here.
"""
import json
import re
import uuid
from pathlib import Path
from typing import NamedTuple

import annotated_types

from services import presets, speech_models
from services.config.lookup import field_at
from services.engine.run_spec import RunSpec
from services.input_checks import ValidationError, validate_url
from services.podcast.identity import default_episode_name
from services.stages import STAGES_BY_NUMBER, get_stage, parse_stages

MAX_STORED_OPTIONS = 8 * 1024   # bytes of a run's stored options as JSON
MAX_EPISODE_NAME = 120
_EPISODE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")
DEFAULT_STAGES = [1, 2]
# The download format a run may give is as long as config.yaml's download.format may be.
FORMAT_LENGTH = next(item.max_length for item in field_at(("download", "format")).metadata
                     if isinstance(item, annotated_types.MaxLen))
FORCE = "force"   # redo every selected stage instead of reusing earlier outputs
# Options a run may set beside the preset fields: each sets one setting, like a preset field.
RUN_ONLY_FIELDS = (
    presets.Field("condition_on_previous_text", "bool", ("whisper", "condition_on_previous_text"),
                  "Condition on the previous text"),
    presets.Field("temperature_fallback", "bool", ("whisper", "temperature_fallback"),
                  "Temperature fallback"),
    presets.Field("word_timestamps", "bool", ("whisper", "word_timestamps"), "Word timestamps"),
    presets.Field("format", "text", ("download", "format"), "Download format",
                  high=FORMAT_LENGTH),
)
RUN_ONLY_BY_NAME = {field.name: field for field in RUN_ONLY_FIELDS}
FORCE_FIELD = presets.Field(FORCE, "bool", (), "Force")
OPTION_NAMES = (*presets.FIELDS_BY_NAME, *RUN_ONLY_BY_NAME, FORCE)
MAX_OPTIONS = len(OPTION_NAMES)


class CheckedRun(NamedTuple):
    """A run request that passed every check: what to run, its folder's name, and the preset
    fields it runs with (stored with the run, shown on its page)."""

    spec: RunSpec
    episode_name: str
    effective: dict


class PresetSource(NamedTuple):
    """Where the checker finds presets and assets (the database and the data folder)."""

    by_name: object       # name -> preset (with .name, .stages, .settings) or None
    names: object         # () -> the names of every preset
    asset_exists: object  # file name -> bool


def episode_directory(episodes_root, value, url):
    """The episode folder for a run, confined under `episodes_root` (no `..`, no escape)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = default_episode_name(url)
    if not isinstance(value, str):
        raise ValidationError("episode_directory", "episode_directory must be a folder name.")
    name = value.strip()
    if len(name) > MAX_EPISODE_NAME:
        raise ValidationError("episode_directory",
                              f"The folder name is longer than {MAX_EPISODE_NAME} characters.")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise ValidationError("episode_directory", "Give a folder name, not an absolute path.",
                              "absolute_path")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValidationError("episode_directory", "The folder name must not contain '..' or "
                              "empty parts.", "path_traversal")
    if not all(_EPISODE_PART.match(part) for part in parts):
        raise ValidationError("episode_directory",
                              "Use letters, digits, spaces, '.', '_' and '-' in folder names.")
    root = Path(episodes_root).resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise ValidationError("episode_directory", "The folder must stay inside the episodes "
                              "folder.", "path_traversal")
    return name, target


def check_options(options, asset_exists=None, models_dir=None):
    """The run's options, each normalised once: (preset field values, run-only values, force).

    Each option has its field's type and bounds (services/presets.py clean_field): a boolean
    takes true or false (JSON booleans, or the words true/false and the form's on/off), a
    number is finite and in range, a text or name is bounded, a model names a bundled model or
    a folder of `models_dir`. Anything else, and any unknown name, is a ValidationError naming
    the option.
    """
    if options is None:
        options = {}
    if not isinstance(options, dict) or len(options) > MAX_OPTIONS:
        raise ValidationError("options", f"options must be an object of at most {MAX_OPTIONS} "
                              "settings.")
    for name in options:
        if name not in OPTION_NAMES:
            raise ValidationError(f"options.{str(name)[:60]}", "There is no such option; the "
                                  f"options are: {', '.join(OPTION_NAMES)}.", "invalid_option")
    preset_part = {k: v for k, v in options.items() if k in presets.FIELDS_BY_NAME}
    fields, errors = presets.validate(preset_part, asset_exists, partial=True,
                                      models_dir=models_dir)
    run_only = {}
    for name, value in options.items():
        field = FORCE_FIELD if name == FORCE else RUN_ONLY_BY_NAME.get(name)
        if field is None or value is None or (isinstance(value, str) and not value.strip()):
            continue
        clean, error = presets.clean_field(field, value, asset_exists, models_dir)
        if error:
            errors[name] = error
        else:
            run_only[name] = clean
    if errors:
        name, message = next(iter(errors.items()))
        raise ValidationError(f"options.{name}", message, "invalid_option")
    return fields, run_only, bool(run_only.pop(FORCE, False))


def stored_options(fields, run_only, force):
    """The checked options as they are stored with the run (what a resume reads back); each
    is bounded, and so is the whole (MAX_STORED_OPTIONS)."""
    stored = {name: value for name, value in {**fields, **run_only}.items() if value is not None}
    stored = {**stored, FORCE: True} if force else stored
    if len(json.dumps(stored)) > MAX_STORED_OPTIONS:
        raise ValidationError("options", "The options are too large to store.", "invalid_option")
    return stored


def run_settings(config, effective, options=None):
    """A run's settings: the configuration, its preset fields, then its run-only options.

    `options` are a run's stored options; any that no longer pass the checks are left out, and
    so is a speech model that a preset or a run may no longer name (the configuration's
    applies)."""
    settings = presets.apply(config, _allowed_model(config, effective))
    try:
        _fields, run_only, _force = check_options(
            {k: v for k, v in (options or {}).items() if k in RUN_ONLY_BY_NAME})
    except ValidationError:
        run_only = {}
    for name, value in run_only.items():
        section, key = RUN_ONLY_BY_NAME[name].path
        settings.setdefault(section, {})[key] = value
    return settings


def _preset(name, source):
    """The named preset (None for "default": the configuration as it is), or ValidationError."""
    if name in (None, "", "default"):
        return None
    preset = source.by_name(name) if isinstance(name, str) else None
    if preset is None:
        known = ", ".join(source.names()) or "none yet"
        raise ValidationError("preset", f"There is no preset named {str(name)[:80]!r}; the "
                              f"presets are: {known}.", "unknown_preset")
    return preset


def _allowed_model(config, effective):
    """`effective` without a speech model that is neither the configuration's own nor a name a
    preset or a run may give (a path stored by an older version)."""
    model = (effective or {}).get("whisper_model")
    if model is None or model == (config.get("whisper") or {}).get("model"):
        return effective
    if speech_models.check_name(model)[1] is None:
        return effective
    return {**effective, "whisper_model": None}


def _check_preset_model(config, preset, fields, models_dir):
    """The preset's speech model, unless the run names its own (checked with the options), is
    the configuration's, a bundled one or a model of the models folder."""
    if preset is None or fields.get("whisper_model") is not None:
        return
    model = (preset.settings or {}).get("whisper_model")
    if model is None or model == config["whisper"].get("model"):
        return
    _name, error = speech_models.check_model(model, models_dir)
    if error:
        raise ValidationError("preset", f"The preset '{preset.name}' names a speech model that "
                              f"cannot be used. {error} Edit the preset.", "invalid_model")


def _effective(config, preset, fields, asset_exists, models_dir=None):
    """The preset fields a run uses: configuration, then preset, then the run's overrides."""
    _check_preset_model(config, preset, fields, models_dir)
    layers = [preset.settings if preset else {}, fields]
    effective = presets.field_values(presets.apply(config, *layers))
    for field in presets.FIELDS:
        name = effective.get(field.name)
        if field.kind == "asset" and name and not asset_exists(name):
            where = f"The preset '{preset.name}'" if preset else "The configuration"
            raise ValidationError("preset", f"{where} uses the audio file '{name}' as its "
                                  f"{field.label.lower()}, but it is no longer among the "
                                  "assets; upload it again or edit the preset.", "missing_asset")
    return effective


def check_inputs(stages, folder):
    """Each stage's inputs must come from an earlier selected stage or the episode folder."""
    produced = set()
    for number in stages:
        stage = get_stage(number)
        for needed in stage.requires:
            if needed not in produced and not (folder / needed).is_file():
                maker = next(s for s in STAGES_BY_NUMBER.values() if needed in s.outputs)
                raise ValidationError(
                    "selected_stages",
                    f"Stage {number} ({stage.name}) needs {needed}; select stage "
                    f"{maker.number} ({maker.name}) too, or use an episode folder that has it.",
                    "missing_input")
        produced.update(stage.outputs)


def check_run_request(data, config, episodes_root, source):
    """A CheckedRun from raw request data (JSON object, form or CLI), or ValidationError."""
    if not isinstance(data, dict):
        raise ValidationError("body", "Send a JSON object or a form.", "invalid_body")
    url = validate_url(data.get("youtube_url"),
                       bool(config["limits"].get("block_private_networks")))
    preset = _preset(data.get("preset"), source)
    stages_value = data.get("selected_stages")
    if stages_value is None:
        stages_value = preset.stages if preset else DEFAULT_STAGES
    stages = parse_stages(stages_value)
    name, folder = episode_directory(episodes_root, data.get("episode_directory"), url)
    models_dir = speech_models.models_folder(config)
    fields, run_only, force = check_options(data.get("options"), source.asset_exists, models_dir)
    effective = _effective(config, preset, fields, source.asset_exists, models_dir)
    check_inputs(stages, folder)
    options = stored_options(fields, run_only, force)
    spec = RunSpec(session_id=uuid.uuid4().hex, url=url, stages=stages, episode_dir=folder,
                   options=options, preset=preset.name if preset else "default",
                   settings=run_settings(config, effective, options), force=force)
    return CheckedRun(spec, name, effective)


def reselection(run, config, episodes_root):
    """The CheckedRun of "Re-run with a new selection" of a stored run: stage 4 again (reusing
    stages 1-3 of its episode) and its later stages, waiting for the user's selection."""
    effective = dict(run.settings or presets.field_values(config), review_segments=True)
    options = {k: v for k, v in (run.options or {}).items() if k != FORCE}
    spec = RunSpec(session_id=uuid.uuid4().hex, url=run.url,
                   stages=sorted({4} | {n for n in run.selected_stages if n > 4}),
                   episode_dir=Path(episodes_root) / run.episode_dir, preset=run.preset,
                   options=options, settings=run_settings(config, effective, options))
    return CheckedRun(spec, run.episode_dir, effective)
