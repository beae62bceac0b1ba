"""JSON read from clients holds only valid Unicode text.

JSON can carry a lone surrogate ("\\ud800"), which Python keeps in a str that cannot be
encoded as UTF-8: the database, hashing and file names then fail. Such a character is read
as U+FFFD, the way browsers turn text into USVString, for HTTP bodies and Socket.IO messages.
"""
import re

from engineio import json as engineio_json
from flask.json.provider import DefaultJSONProvider

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _text(value):
    return LONE_SURROGATE.sub(REPLACEMENT, value)


def _clean_dict(item, stack):
    if any(isinstance(key, str) and LONE_SURROGATE.search(key) for key in item):
        pairs = list(item.items())
        item.clear()
        item.update((_text(key) if isinstance(key, str) else key, value) for key, value in pairs)
    for key, value in item.items():
        if isinstance(value, str):
            item[key] = _text(value)
        elif isinstance(value, (list, dict)):
            stack.append(value)


def valid_text(value):
    """`value` (a parsed JSON document) with every lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _text(value)
    stack = [value] if isinstance(value, (list, dict)) else []
    while stack:   # not recursive: documents nest as deep as the parser allows
        item = stack.pop()
        if isinstance(item, dict):
            _clean_dict(item, stack)
            continue
        for index, entry in enumerate(item):
            if isinstance(entry, str):
                item[index] = _text(entry)
            elif isinstance(entry, (list, dict)):
                stack.append(entry)
    return value


class TextJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies as valid Unicode text; nesting too deep for the
    parser is a ValueError (bad JSON, a 400), not a RecursionError."""

    def loads(self, s, **kwargs):
        try:
            return valid_text(super().loads(s, **kwargs))
        except RecursionError:
            raise ValueError("The JSON document nests too deeply.") from None


class SocketJSON:
    """The `json` module for Socket.IO packets: python-engineio's (which refuses integers of
    more than 100 digits), reading messages as valid Unicode text."""

    dumps = staticmethod(engineio_json.dumps)

    @staticmethod
    def loads(*args, **kwargs):
        return valid_text(engineio_json.loads(*args, **kwargs))
