"""The schema's complaints in words: (dotted key, reason) for each value that does not fit."""
import difflib
from typing import Literal, get_args, get_origin

from pydantic import ValidationError

from services.config.lookup import constraints, field_at, model_in
from services.config.schema import Settings

# Values never repeated in a message: they may be secrets or hold a password.
SECRET_KEYS = frozenset({"auth_token", "api_key", "proxy", "url", "database_url", "redis_url",
                         "message_queue"})


def _shown(value):
    """A value as a message repeats it: short, and never a whole mapping or list."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _range(limits):
    """The bound in words (e.g. must be between -30 and -10), from a field's constraints."""
    low, high = limits.get("ge", limits.get("gt")), limits.get("le", limits.get("lt"))
    if low is not None and high is not None:
        return f"must be between {low:g} and {high:g}"
    if "gt" in limits:
        return f"must be more than {limits['gt']:g}"
    if "ge" in limits:
        return f"must be at least {limits['ge']:g}"
    return f"must be at most {high:g}"


def _choices(field):
    """The allowed values of a Literal field, as "a, b", or None."""
    pending = [field.annotation] if field is not None else []
    while pending:
        item = pending.pop()
        if get_origin(item) is Literal:
            return ", ".join(str(choice) for choice in get_args(item))
        pending.extend(get_args(item))
    return None


TYPE_WORDS = {
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number", "float_type": "must be a number",
    "float_parsing": "must be a number", "finite_number": "must be a finite number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be text", "list_type": "must be a list",
    "model_type": "must be a mapping of settings", "dict_type": "must be a mapping of settings",
}
RANGE_ERRORS = ("greater_than_equal", "less_than_equal", "greater_than", "less_than")


def _reason(error):
    """One pydantic error in words, with the value given where it is not a secret."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    field = field_at(loc)
    if kind == "extra_forbidden":
        above = field_at(loc[:-1])
        parent = model_in(above.annotation) if above is not None else Settings
        known = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return "unknown setting" + (f" (did you mean {close[0]}?)" if close else "")
    if kind == "missing":
        return "is required"
    if kind in ("value_error", "assertion_error"):
        return str(error.get("ctx", {}).get("error") or error["msg"])
    if kind in RANGE_ERRORS and field is not None:
        reason = _range(constraints(field))
    elif kind == "literal_error":
        reason = f"must be one of {_choices(field) or error['ctx']['expected']}"
    elif kind == "string_too_short":
        reason = "must not be empty"
    elif kind == "string_too_long":
        reason = f"must be at most {error['ctx']['max_length']} characters"
    else:
        reason = TYPE_WORDS.get(kind, error["msg"])
    if any(part in SECRET_KEYS for part in loc if isinstance(part, str)):
        return reason
    return f"{reason} (got {_shown(value)})"


def problems(settings):
    """[(location, reason)] of everything wrong in `settings` (merged, as load_settings has
    them); [] when they fit the schema. A location is a tuple such as ("whisper", "beam_size")."""
    try:
        Settings.model_validate(settings)
    except ValidationError as exc:
        return [(error["loc"], _reason(error)) for error in exc.errors()]
    return []
