"""Presets: named whole-pipeline workflows, their fields, validation and how they set settings.

A preset is a flat set of fields (stages, model, clip lengths, loudness, …). Each field maps
to one setting of config.yaml; a run's effective settings are the configuration with the
preset's fields, then the run's own overrides, laid over it. Validation never raises on bad
input: it returns the clean values and a message per field.
"""
import copy
import math
import re
import unicodedata
from dataclasses import dataclass

from services import speech_models
from services.assets import valid_name as valid_asset_name
from services.config.lookup import bounds
from services.input_checks import ValidationError
from services.stages import parse_stages

EXPORT_FORMAT = "youtube-pipeline-preset"
EXPORT_VERSION = 1
MAX_NAME = 80
MAX_DESCRIPTION = 500
MAX_TEXT = 500
MAX_WORD = 20   # characters of a number, a choice, a language code or true/false as text
MIN_CHOICE = "minimum"
# A number written as text: plain ASCII digits, a point and an exponent (no "1_000", no "nan").
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)


@dataclass(frozen=True)
class Field:
    """One preset field: its kind, bounds, the setting it sets, and its label."""

    name: str
    kind: str              # int, float, bool, choice, language, model, asset, text
    path: tuple            # (section, key) in the settings
    label: str
    low: float = None
    high: float = None     # a number's maximum; a text's length (MAX_TEXT when None)
    choices: tuple = ()
    help: str = ""


FIELDS = (
    Field("whisper_model", "model", ("whisper", "model"), "Whisper model",
          help="'bundled' (tiny.en) or the name of a CTranslate2 model's folder in the models "
               "folder (whisper.models_dir)."),
    Field("beam_size", "int", ("whisper", "beam_size"), "Beam size",
          *bounds("whisper", "beam_size")),
    Field("language", "language", ("whisper", "language"), "Language",
          help="A language code such as en or de; empty: detect."),
    Field("vad_filter", "bool", ("whisper", "vad_filter"), "Skip non-speech (VAD)"),
    Field("prefer_creator_subtitles", "bool", ("whisper", "prefer_creator_subtitles"),
          "Prefer the creator's subtitles to transcription"),
    Field("clip_count", "int", ("segments", "count"), "Clips", *bounds("segments", "count")),
    Field("clip_min_seconds", "float", ("segments", "min_seconds"), "Clip minimum (s)",
          *bounds("segments", "min_seconds")),
    Field("clip_max_seconds", "float", ("segments", "max_seconds"), "Clip maximum (s)",
          *bounds("segments", "max_seconds")),
    Field("review_segments", "bool", ("segments", "review"), "Review the segments by hand"),
    Field("episode_mode", "choice", ("production", "episode_mode"), "Episode",
          choices=("full", "highlights")),
    Field("max_pause_seconds", "float", ("production", "max_pause_seconds"),
          "Longest pause kept (s)", *bounds("production", "max_pause_seconds")),
    Field("loudness_lufs", "float", ("loudness", "integrated_lufs"), "Loudness (LUFS)",
          *bounds("loudness", "integrated_lufs")),
    Field("output_format", "choice", ("production", "format"), "Output format",
          choices=("m4a", "mp3")),
    Field("intro", "asset", ("production", "intro"), "Intro"),
    Field("outro", "asset", ("production", "outro"), "Outro"),
    Field("music_bed", "asset", ("production", "music_bed"), "Music bed"),
    Field("music_level_db", "float", ("production", "music_level_db"), "Music level (dB)",
          *bounds("production", "music_level_db")),
    Field("llm", "bool", ("llm", "enabled"), "Summaries and titles by the LLM",
          help="Uses the endpoint in config.yaml's llm section; off or unreachable: extractive."),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
STAGES_FIELD = "stages"
# A boolean is true or false: JSON booleans, these words, or the form's on/off.
TRUE_WORDS = ("true", "on")
FALSE_WORDS = ("false", "off")


class PresetInvalid(Exception):
    """A preset (or an import) that cannot be stored; `errors` maps each field to its message."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def language_codes():
    """The language codes faster-whisper knows (a fixed list when it cannot be imported)."""
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
        return frozenset(_LANGUAGE_CODES)
    except ImportError:  # pragma: no cover - faster-whisper is a requirement
        return frozenset(("en", "de", "fr", "es", "it", "nl", "pt", "ja", "zh", "ru"))


def _number(value, integer):
    """A finite int/float from a JSON number or plain ASCII text; None when it is not one,
    math.inf (out of any range) for a whole number too large for a float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(value) > MAX_WORD or not NUMBER_TEXT.fullmatch(text):
            return None
        value = float(text)
    if isinstance(value, int):
        if abs(value) > 10 ** 9:
            return math.inf if value > 0 else -math.inf
        value = float(value)
    if not isinstance(value, float) or not math.isfinite(value):
        return None
    if integer:
        return int(value) if value.is_integer() else None
    return value


def _flag(value):
    """True or False from a JSON boolean or one of the words; None for anything else."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) and len(value) <= MAX_WORD else None
    if word in TRUE_WORDS + FALSE_WORDS:
        return word in TRUE_WORDS
    return None


def has_control(text):
    """Whether `text` holds a control, format, surrogate or private-use character, or a line
    or paragraph separator (in any script: not only ASCII's)."""
    return any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
               for ch in text)


def _text(value, limit):
    """(stripped text, error) for a free-text field: printable ASCII on one line, at most
    `limit` characters."""
    text = value.strip() if isinstance(value, str) and len(value) <= 2 * limit else None
    if not text or len(text) > limit or not all(" " <= ch <= "~" for ch in text):
        return None, f"Enter text of at most {limit} characters on one line (printable ASCII)."
    return text, None


def _asset(value, asset_exists):
    """(asset file name, error): a plain file name that is among the assets."""
    name = value.strip() if isinstance(value, str) and len(value) <= MAX_TEXT else None
    if not valid_asset_name(name):
        return None, "Choose an uploaded audio file."
    if asset_exists is not None and not asset_exists(name):
        return None, f"The audio file '{name}' is not among the assets (deleted?); upload it or choose another."
    return name, None


def _not_set(value):
    return value is None or (isinstance(value, str) and not value.strip())


def clean_field(field, value, asset_exists=None, models_dir=None):
    """(clean value, error message or None) for one field; `models_dir`, when given, is where a
    model name must find its folder."""
    if field.kind in ("int", "float"):
        number = _number(value, field.kind == "int")
        if number is None:
            return None, "Enter a whole number." if field.kind == "int" else "Enter a number."
        if number < field.low or number > field.high:
            return None, f"Enter a value from {field.low:g} to {field.high:g}."
        return number, None
    if field.kind == "bool":
        flag = _flag(value)
        return (flag, None) if flag is not None else (None, "Choose true or false (on or off).")
    if field.kind == "choice":
        if isinstance(value, str) and len(value) <= MAX_WORD and value.strip() in field.choices:
            return value.strip(), None
        return None, f"Choose one of: {', '.join(field.choices)}."
    if field.kind == "language":
        if _not_set(value):
            return None, None
        code = value.strip().lower() if isinstance(value, str) and len(value) <= MAX_WORD else None
        if code is None or code not in language_codes():
            return None, "Enter a language code faster-whisper knows, such as en, de or fr; empty: detect."
        return code, None
    if field.kind == "model":
        return speech_models.check_model(value, models_dir)
    if field.kind == "text":
        return _text(value, int(field.high or MAX_TEXT))
    if field.kind == "asset":
        return (None, None) if _not_set(value) else _asset(value, asset_exists)
    raise ValueError(field.kind)


def parse_stage_list(value):
    """Stage numbers 1-7 from a list or '1,2' text: (sorted list, error or None)."""
    try:
        return parse_stages(value), None
    except ValidationError as exc:
        return None, exc.message


def validate(data, asset_exists=None, partial=False, models_dir=None):
    """Clean preset fields from `data` (a dict from JSON or a form).

    Returns (values, errors). With `partial`, only the fields present are checked (run
    overrides); otherwise every field gets a value (missing ones: None, i.e. the config's).
    Unknown keys are errors, so a typo is never silently ignored. With `models_dir`, a model
    name must name a model in that folder (services/speech_models.py).
    """
    if not isinstance(data, dict):
        return {}, {"settings": "Send an object of preset fields."}
    values, errors = {}, {}
    for key in data:
        if key != STAGES_FIELD and key not in FIELDS_BY_NAME:
            errors[str(key)[:60]] = "There is no such preset field."
    if STAGES_FIELD in data or not partial:
        stages, error = parse_stage_list(data.get(STAGES_FIELD))
        if error:
            errors[STAGES_FIELD] = error
        else:
            values[STAGES_FIELD] = stages
    for field in FIELDS:
        if field.name not in data:
            continue
        value = data[field.name]
        if _not_set(value):
            values[field.name] = None  # not set: the configuration's value applies
            continue
        clean, error = clean_field(field, value, asset_exists, models_dir)
        if error:
            errors[field.name] = error
        else:
            values[field.name] = clean
    if not partial:
        values = {STAGES_FIELD: values.get(STAGES_FIELD),
                  **{field.name: values.get(field.name) for field in FIELDS}}
    low, high = values.get("clip_min_seconds"), values.get("clip_max_seconds")
    if low is not None and high is not None and low >= high and "clip_max_seconds" not in errors:
        errors["clip_max_seconds"] = "The clip maximum must be longer than the minimum."
    return values, errors


def validate_name(name, description=""):
    """(name, description, errors) for a preset's name and description."""
    errors = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "Give the preset a name."
    elif len(name) > MAX_NAME or has_control(name):
        errors["name"] = f"Names are at most {MAX_NAME} characters, without control characters."
    description = description.strip() if isinstance(description, str) else ""
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"The description is at most {MAX_DESCRIPTION} characters."
    return name, description, errors


def field_values(settings):
    """Every preset field's value in `settings` (what a run without a preset uses)."""
    values = {}
    for field in FIELDS:
        section, key = field.path
        values[field.name] = (settings.get(section) or {}).get(key)
    llm = settings.get("llm") or {}
    values["llm"] = bool(llm.get("url")) and llm.get("enabled", True) is not False
    return values


def apply(settings, *layers):
    """A copy of `settings` with each layer of preset fields laid over it (None: keep)."""
    result = copy.deepcopy(settings)
    for layer in layers:
        for name, value in (layer or {}).items():
            field = FIELDS_BY_NAME.get(name)
            if field is None or value is None:
                continue
            section, key = field.path
            result.setdefault(section, {})[key] = value
    production = result.get("production") or {}
    if production.get("max_pause_seconds") is not None and production.get("pause_keep_seconds"):
        production["pause_keep_seconds"] = min(float(production["pause_keep_seconds"]),
                                               float(production["max_pause_seconds"]))
    segments = result.get("segments") or {}
    if segments.get("min_seconds") is not None and segments.get("max_seconds") is not None:
        if float(segments["min_seconds"]) >= float(segments["max_seconds"]):
            segments["max_seconds"] = float(segments["min_seconds"]) * 2
    llm = result.get("llm") or {}
    if llm.get("enabled") is False:
        llm["url"] = None
    return result


def export(name, description, stages, values):
    """The JSON document of one preset (what import reads back)."""
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "name": name,
            "description": description, "stages": list(stages),
            "settings": {field.name: values.get(field.name) for field in FIELDS}}


def read_import(document, asset_exists=None, models_dir=None):
    """(name, description, stages, values) from an exported document, or PresetInvalid."""
    if not isinstance(document, dict):
        raise PresetInvalid({"file": "This is not a preset export (a JSON object)."})
    if document.get("format") != EXPORT_FORMAT:
        raise PresetInvalid({"file": f"This is not a preset export (format is not {EXPORT_FORMAT})."})
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= EXPORT_VERSION:
        raise PresetInvalid({"file": f"Preset export version {str(version)[:20]} is not supported."})
    name, description, errors = validate_name(document.get("name"), document.get("description"))
    settings = document.get("settings")
    if not isinstance(settings, dict):
        errors["settings"] = "The export has no settings object."
        raise PresetInvalid(errors)
    values, field_errors = validate({**settings, STAGES_FIELD: document.get("stages")},
                                    asset_exists, models_dir=models_dir)
    errors.update(field_errors)
    if errors:
        raise PresetInvalid(errors)
    stages = values.pop(STAGES_FIELD)
    return name, description, stages, values
