"""Presets in the database: list, read, create, update, delete, and the first-start seeding."""
import logging

from sqlalchemy.exc import IntegrityError

from services import presets
from storage.database import db
from storage.models import AppState, Preset

log = logging.getLogger(__name__)
SEEDED_KEY = "presets_seeded"
MAX_ID = 2 ** 31 - 1


def all_presets():
    """Every preset, by name."""
    return db.session.scalars(db.select(Preset).order_by(Preset.name)).all()


def get(preset_id):
    """The preset with this id, or None."""
    if isinstance(preset_id, bool) or not isinstance(preset_id, int) or not 0 < preset_id <= MAX_ID:
        return None
    return db.session.get(Preset, preset_id)


def by_name(name):
    """The preset with this exact name, or None."""
    if not isinstance(name, str) or len(name) > presets.MAX_NAME:
        return None
    return db.session.scalar(db.select(Preset).where(Preset.name == name))


def name_taken(name, except_id=None):
    """Whether another preset already has this name."""
    found = by_name(name)
    return found is not None and found.id != except_id


def free_name(name):
    """`name`, or `name (2)`, `name (3)` … the first that no preset has."""
    if not name_taken(name):
        return name
    for number in range(2, 1000):
        suffix = f" ({number})"
        candidate = name[: presets.MAX_NAME - len(suffix)] + suffix
        if not name_taken(candidate):
            return candidate
    raise presets.PresetInvalid({"name": "Too many presets share this name."})


def save(preset, name, description, stages, values):
    """Store a new (preset None) or changed preset; PresetInvalid when the name is taken."""
    if name_taken(name, preset.id if preset else None):
        raise presets.PresetInvalid({"name": "Another preset has this name; choose another."})
    if preset is None:
        preset = Preset()
        db.session.add(preset)
    preset.name, preset.description = name, description
    preset.stages, preset.settings = list(stages), dict(values)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise presets.PresetInvalid({"name": "Another preset has this name; choose another."}) from None
    return preset


def delete(preset):
    """Remove a preset (runs keep the settings they used)."""
    db.session.delete(preset)
    db.session.commit()


def seed(configured):
    """On first start, store the presets of config.yaml (invalid ones are logged and skipped).

    Seeding happens once per database, so a preset the user deleted does not come back.
    """
    if db.session.get(AppState, SEEDED_KEY) is not None:
        return 0
    added = 0
    for entry in configured or []:
        if not isinstance(entry, dict):
            log.warning("config.yaml presets: an entry is not a mapping; skipped")
            continue
        entry = dict(entry)
        name, description, errors = presets.validate_name(entry.pop("name", None),
                                                          entry.pop("description", ""))
        values, field_errors = presets.validate(entry)
        errors.update(field_errors)
        if errors:
            log.warning("config.yaml preset %r skipped: %s", name, errors)
            continue
        if by_name(name) is None:
            stages = values.pop(presets.STAGES_FIELD)
            db.session.add(Preset(name=name, description=description, stages=stages, settings=values))
            added += 1
    db.session.add(AppState(key=SEEDED_KEY, value=True))
    try:
        db.session.commit()
    except IntegrityError:  # another process seeded at the same moment
        db.session.rollback()
        return 0
    return added
