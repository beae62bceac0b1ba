"""Reading the schema: the field at a dotted location, and a number's bounds (which the
presets and the run request share with the configuration)."""
from typing import get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from services.config.schema import Settings


def model_in(annotation):
    """The pydantic model an annotation holds (Optional[list[Model]] -> Model), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None


def field_at(loc, model=Settings):
    """The pydantic FieldInfo at a dotted location such as ("loudness", "integrated_lufs")."""
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        model = model_in(field.annotation)
    return field


def constraints(field):
    """The ge, le, gt and lt bounds of a field, from its own or its type's metadata."""
    found = {}
    pending = list(field.metadata) + [field.annotation]
    while pending:
        item = pending.pop()
        for name in ("ge", "le", "gt", "lt"):
            if isinstance(item, getattr(annotated_types, name.capitalize())):
                found.setdefault(name, getattr(item, name))
        if isinstance(item, FieldInfo):
            pending.extend(item.metadata)
        elif get_origin(item) is not None:
            pending.extend(get_args(item))
    return found


def bounds(section, key):
    """(low, high) of the number at `section.key`, read off the schema; None where unbounded."""
    field = field_at((section, key))
    if field is None:
        raise KeyError(f"{section}.{key}")
    limits = constraints(field)
    return limits.get("ge", limits.get("gt")), limits.get("le", limits.get("lt"))
