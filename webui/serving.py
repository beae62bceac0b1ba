"""The app of a serving process (`run.py`, or gunicorn through wsgi.py): the data folder's lock
first (thread runner), then the app, then the recovery of runs that only the serving process
does."""
import logging
import socket

from services.config.loading import load_settings
from services.hosting import heap
from services.hosting.data_lock import hold
from webui import create_app

log = logging.getLogger("pipeline")


def serving_app(config_file=None, overrides=None):
    """The dashboard app holding its data folder; ConfigError or FolderBusy when it cannot."""
    settings = load_settings(config_file, overrides=overrides)
    # With runner: rq the runs belong to the workers and a server interrupts only a run whose
    # worker went quiet, so several servers may share the data folder (docs/scale-out.md).
    data_lock = None if settings["runner"] == "rq" else hold(settings["data_dir"])
    app = create_app(overrides, config_file=config_file)
    app.extensions["data_lock"] = data_lock   # held while the server lives
    # Only the server holding the data folder recovers runs: a headless run beside it (which
    # takes no lock) must not touch the server's live or queued runs.
    interrupted, requeued = app.extensions["pipeline"].recover()
    app.extensions["batches"].recover()   # batches that had not ended end from their runs
    if interrupted or requeued:
        log.warning("Recovered after a restart: %d run(s) interrupted, %d queued again",
                    interrupted, requeued)
    heap.settle()   # short garbage-collector pauses while runs stream events
    return app


def serve_forever(app, host, port):
    """Serve with Werkzeug's threaded server, as `socketio.run` would, with TCP_NODELAY on the
    listening socket (the connections inherit it): an event sent right after another is not
    held back by Nagle's algorithm for the peer's delayed ACK (40 ms). gunicorn sets it too."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        server.serve_forever()
    finally:
        server.server_close()
