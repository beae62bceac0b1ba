"""The speech model a preset or a run may name: a bundled model, or a folder of the models folder.

The configuration's own `whisper.model` may be any path. A preset or a run's options name a
model by one of the bundled names or by the name of one folder inside the models folder
(`whisper.models_dir`, default `models` in the data folder). Such a name is never a path: an
absolute path, `..`, `~`, a separator or a control character is refused with one message, from
the text alone, before anything on disk is looked at, so the answer says nothing about what
exists outside the models folder.

An entry of the models folder may be a link its owner placed there (to the bundled model, or
to a model on another disk): it is used when its target holds a model. A name is one folder
name, so it can never reach past such a link.
"""
import re
from pathlib import Path

BUNDLED_NAMES = ("bundled", "tiny.en")
DEFAULT_MODELS_DIR = "models"
MAX_MODEL_NAME = 100
MODEL_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_MODEL_NAME - 1}}}", re.ASCII)
NAME_RULE = ("Enter 'bundled' (tiny.en) or the name of a model folder inside the models folder "
             "(letters, digits, '.', '_' and '-'; not a path).")


def models_folder(settings):
    """The models folder: `whisper.models_dir`, relative to the data folder unless absolute."""
    whisper = settings.get("whisper") or {}
    path = Path(str(whisper.get("models_dir") or DEFAULT_MODELS_DIR))
    try:
        path = path.expanduser()
    except RuntimeError:   # ~user of no such user: the folder is taken as written
        pass
    if not path.is_absolute():
        path = Path(str(settings.get("data_dir") or ".")) / path
    return path


def check_name(value):
    """(name, None) for a bundled name or a plain folder name, else (None, NAME_RULE); only the
    text is looked at."""
    text = value.strip() if isinstance(value, str) and len(value) <= 2 * MAX_MODEL_NAME else ""
    if text in BUNDLED_NAMES or MODEL_NAME.fullmatch(text):
        return text, None
    return None, NAME_RULE


def find(name, folder):
    """The model folder that `name` (a checked folder name) names in `folder`, or None when it
    holds no model.bin. A link in the models folder is followed to its target."""
    try:
        path = (Path(folder) / name).resolve()
        return path if (path / "model.bin").is_file() else None
    except (OSError, RuntimeError, ValueError):
        return None


def check_model(value, folder=None):
    """(name, error) for the model of a preset or a run; with the models folder given, a folder
    name must also hold a model there."""
    name, error = check_name(value)
    if error or folder is None or name in BUNDLED_NAMES:
        return name, error
    if find(name, folder) is None:
        return None, (f"The models folder has no model '{name}' (a folder with a CTranslate2 "
                      "model.bin); copy the model there or use 'bundled'.")
    return name, None
