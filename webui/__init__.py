"""The application factory."""
import secrets
from pathlib import Path

from flask import Flask

from services.config.loading import load_settings
from webui import converters
from webui.extensions import db, socketio
from webui.json_text import SocketJSON, TextJSONProvider


def _secret_key(data_dir):
    """A secret key made once and kept in the data folder."""
    path = Path(data_dir) / "secret_key"
    if path.is_file() and path.stat().st_size >= 32:
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


def create_app(test_config=None, config_file=None, role="web"):
    """Build the app: defaults, then config.yaml, then environment, then `test_config`.

    `role` is "web" (the dashboard), "worker" (`run.py worker`) or "local" (`run.py process`);
    see orchestration/pipeline.py."""
    test_config = dict(test_config or {})
    flask_overrides = {k: v for k, v in test_config.items() if k.isupper()}
    settings = load_settings(config_file, overrides={k: v for k, v in test_config.items()
                                                     if not k.isupper()})
    data_dir = Path(settings["data_dir"])
    (data_dir / "episodes").mkdir(parents=True, exist_ok=True)

    app = Flask(__name__.split(".")[0], root_path=str(Path(__file__).resolve().parent.parent),
                template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=_secret_key(data_dir),
        SQLALCHEMY_DATABASE_URI=settings["database_url"] or f"sqlite:///{data_dir / 'pipeline.db'}",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",   # no session cookie on another site's posts
        PIPELINE=settings,
    )
    app.config.update(flask_overrides)
    converters.init_app(app)   # before any route: `<run_id:…>` and `<batch_id:…>`
    app.json = TextJSONProvider(app)   # a lone surrogate in a body is read as U+FFFD
    app.json.sort_keys = False   # answers keep the order they are built in

    db.init_app(app)
    socketio_settings = settings["socketio"]
    socketio.init_app(app, async_mode=socketio_settings.get("async_mode") or "threading",
                      message_queue=socketio_settings.get("message_queue"),
                      ping_interval=10, ping_timeout=20, json=SocketJSON)

    from storage import models  # noqa: F401 - the tables must be known before create_all
    from storage.presets import seed
    from storage.schema import upgrade

    with app.app_context():
        upgrade(db)
        seed(settings.get("presets"))

    from orchestration.batches import Batches
    from orchestration.pipeline import Pipeline
    from routes import register_blueprints
    from webui import access, csrf, headers, hosts
    from webui.sockets import register_batch_handlers, register_handlers

    hosts.init_app(app)   # first: a request for another host name goes no further
    access.init_app(app)
    csrf.init_app(app)   # after access: a request without the token gets 401, not 403
    headers.init_app(app)
    register_blueprints(app)
    pipeline = Pipeline(app, settings, role)
    app.extensions["pipeline"] = pipeline
    pipeline.recorder.add_listener(register_handlers(socketio))
    batches = Batches(app, pipeline)
    app.extensions["batches"] = batches
    batches.recorder.add_listener(register_batch_handlers(socketio))
    return app
