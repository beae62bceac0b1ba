"""URL converters for run and batch ids: `<run_id:session_id>` and `<batch_id:batch_id>`.

An id that no run or batch can have (longer than its column, or with a character outside
ASCII lowercase letters and digits; stored ids are uuid4().hex) never reaches the view: it is
answered 404 exactly as the view answers an unknown id, as JSON on the API (routes/errors.py's
`wants_json()`, or `<run_id(api=True):session_id>` for a JSON route elsewhere) and as the error
page otherwise."""
import re

from flask import has_request_context, request
from werkzeug.routing import BaseConverter, Rule

from routes.errors import UnknownId, unknown_batch, unknown_run
from storage.models import BATCH_ID_LENGTH, SESSION_ID_LENGTH

ID_TEXT = re.compile("[0-9a-z]+")


class IdRule(Rule):
    """A URL rule whose converters know it, so a refused id is answered as from its route."""

    def get_converter(self, variable_name, converter_name, args, kwargs):
        converter = super().get_converter(variable_name, converter_name, args, kwargs)
        converter.rule = self
        return converter


class _IdConverter(BaseConverter):
    """One path segment taken as an id; one that names nothing raises UnknownId."""

    length = 0
    page_message = ""
    answer = None
    rule = None

    def __init__(self, map, api=False):   # noqa: A002 - Werkzeug passes the map by this name
        super().__init__(map)
        self.api = api

    def to_python(self, value):
        if len(value) <= self.length and ID_TEXT.fullmatch(value):
            return value
        if has_request_context():
            if request.method == "OPTIONS":   # answered by Flask itself: no view runs
                return value
            # The route stays known to the request (its endpoint and blueprint, as when its
            # view answers): the menu still marks the section, blueprint hooks still run.
            request.url_rule = self.rule
        raise UnknownId(self.page_message, self.answer, self.api)


class SessionIdConverter(_IdConverter):
    """`<run_id:session_id>`: a run's session id."""

    length = SESSION_ID_LENGTH
    page_message = "There is no run with this id."
    answer = staticmethod(unknown_run)


class BatchIdConverter(_IdConverter):
    """`<batch_id:batch_id>`: a batch's id."""

    length = BATCH_ID_LENGTH
    page_message = "There is no batch with this id."
    answer = staticmethod(unknown_batch)


def init_app(app):
    """Register the converters; call before any route is added."""
    app.url_rule_class = IdRule
    app.url_map.converters["run_id"] = SessionIdConverter
    app.url_map.converters["batch_id"] = BatchIdConverter
