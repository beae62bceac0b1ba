"""Extensions created once, unbound; `create_app` binds them with `init_app`."""
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
socketio = SocketIO()
