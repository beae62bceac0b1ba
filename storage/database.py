"""The database extension, created once and unbound; `create_app` binds it with `init_app`."""
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
