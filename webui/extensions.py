"""Extensions created once, unbound; `create_app` binds them with `init_app`.

The database extension lives with the tables in storage/database.py, so the stores and the
orchestration need nothing from the web package.
"""
from flask_socketio import SocketIO

from storage.database import db  # noqa: F401 - bound by create_app with the other extensions

socketio = SocketIO()
