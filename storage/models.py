"""Database tables: runs, their stage runs (the history behind time estimates), events, presets."""
from datetime import timezone

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from services.engine.run_states import (  # noqa: F401 - the run states, kept beside the tables
    ACTIVE_STATES,
    DONE_STAGE_STATES,
    FINISHED_STATES,
    LIVE_STATES,
    RESUMABLE_STATES,
    RUN_STATES,
    utcnow,
)
from storage.database import db

SESSION_ID_LENGTH = 32   # Run.session_id's column: a longer id names no run


def iso(moment):
    """ISO-8601 UTC text for a stored datetime (SQLite gives them back without a zone)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _naive(moment):
    return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment


@sa_event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL journal and a busy timeout on SQLite, so readers and the run writer don't block."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class Run(db.Model):
    """One request to run stages on a URL, with its state and timing."""

    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(db.String(SESSION_ID_LENGTH), unique=True, nullable=False, index=True)
    url = db.Column(db.Text, nullable=False)
    title = db.Column(db.Text)
    state = db.Column(db.String(24), nullable=False, default="queued", index=True)
    selected_stages = db.Column(db.JSON, nullable=False)
    preset = db.Column(db.String(80), nullable=False, default="default")
    options = db.Column(db.JSON, nullable=False, default=dict)
    settings = db.Column(db.JSON)  # the effective preset fields the run used (services/presets.py)
    episode_dir = db.Column(db.Text, nullable=False)
    media_duration = db.Column(db.Float)
    progress = db.Column(db.Float, nullable=False, default=0.0)
    current_stage = db.Column(db.Integer)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    error = db.Column(db.Text)
    waiting_since = db.Column(db.DateTime)  # set while awaiting_selection
    waited_seconds = db.Column(db.Float, nullable=False, default=0.0, server_default="0")
    stage_runs = db.relationship("StageRun", back_populates="run", order_by="StageRun.stage",
                                 cascade="all, delete-orphan")

    @property
    def duration(self):
        """Working seconds from start to end (or to now): time awaiting a selection left out."""
        if not self.started_at:
            return None
        end = _naive(self.waiting_since or self.finished_at or utcnow())
        return max((end - _naive(self.started_at)).total_seconds() - (self.waited_seconds or 0.0), 0.0)


class StageRun(db.Model):
    """One stage of one run: state, timing and parameters (the history for estimates)."""

    id = db.Column(db.Integer, primary_key=True)
    run_id = db.Column(db.Integer, db.ForeignKey("run.id", ondelete="CASCADE"), nullable=False)
    stage = db.Column(db.Integer, nullable=False)
    stage_key = db.Column(db.String(40), nullable=False, index=True)
    state = db.Column(db.String(24), nullable=False, default="pending")
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    duration = db.Column(db.Float)
    media_duration = db.Column(db.Float)
    parameters = db.Column(db.JSON)
    error = db.Column(db.Text)
    run = db.relationship("Run", back_populates="stage_runs")

    __table_args__ = (db.UniqueConstraint("run_id", "stage"),)


class StoredEvent:
    """The columns of an event as it was sent: its `seq` within its owner, kind, payload, time."""

    id = db.Column(db.Integer, primary_key=True)
    seq = db.Column(db.Integer, nullable=False)
    kind = db.Column(db.String(40), nullable=False)
    payload = db.Column(db.JSON, nullable=False)
    timestamp = db.Column(db.String(40), nullable=False)


class Event(StoredEvent, db.Model):
    """One run event exactly as it was sent, numbered by `seq` within its run."""

    session_id = db.Column(db.String(SESSION_ID_LENGTH), nullable=False)

    __table_args__ = (db.UniqueConstraint("session_id", "seq"),
                      db.Index("ix_event_session_seq", "session_id", "seq"))


class Preset(db.Model):
    """A named workflow: the stages to run and the preset fields of services/presets.py."""

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), unique=True, nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    stages = db.Column(db.JSON, nullable=False)
    settings = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AppState(db.Model):
    """Small facts the application keeps about itself (e.g. that presets were seeded)."""

    key = db.Column(db.String(80), primary_key=True)
    value = db.Column(db.JSON)


BATCH_ID_LENGTH = 32   # Batch.batch_id's column: a longer id names no batch


class Batch(db.Model):
    """A playlist, channel, feed or URL list run as one job: one run per entry."""

    id = db.Column(db.Integer, primary_key=True)
    batch_id = db.Column(db.String(BATCH_ID_LENGTH), unique=True, nullable=False, index=True)
    kind = db.Column(db.String(16), nullable=False)   # playlist, urls or file
    source = db.Column(db.Text)                       # the playlist URL, or the file's name
    title = db.Column(db.Text)
    state = db.Column(db.String(24), nullable=False, default="running", index=True)
    selected_stages = db.Column(db.JSON, nullable=False)
    preset = db.Column(db.String(80), nullable=False, default="default")
    progress = db.Column(db.Float, nullable=False, default=0.0)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)
    waited_seconds = db.Column(db.Float, nullable=False, default=0.0, server_default="0")
    entries = db.relationship("BatchEntry", back_populates="batch", order_by="BatchEntry.position",
                              cascade="all, delete-orphan")

    @property
    def duration(self):
        """Seconds from the batch's creation to its end (or to now), idle time before a retry
        left out."""
        end = _naive(self.finished_at or utcnow())
        return max((end - _naive(self.created_at)).total_seconds() - (self.waited_seconds or 0.0),
                   0.0)


class BatchEntry(db.Model):
    """One entry of a batch, in playlist order, and the run that works on it."""

    id = db.Column(db.Integer, primary_key=True)
    batch_pk = db.Column(db.Integer, db.ForeignKey("batch.id", ondelete="CASCADE"), nullable=False)
    position = db.Column(db.Integer, nullable=False)
    url = db.Column(db.Text, nullable=False)
    title = db.Column(db.Text)
    duration = db.Column(db.Float)         # media seconds, when the playlist said
    weight = db.Column(db.Float, nullable=False, default=1.0)   # expected seconds of work
    session_id = db.Column(db.String(SESSION_ID_LENGTH), nullable=False, index=True)
    batch = db.relationship("Batch", back_populates="entries")

    __table_args__ = (db.UniqueConstraint("batch_pk", "position"),)


class BatchEvent(StoredEvent, db.Model):
    """One batch event exactly as it was sent, numbered by `seq` within its batch."""

    batch_id = db.Column(db.String(BATCH_ID_LENGTH), nullable=False)

    __table_args__ = (db.UniqueConstraint("batch_id", "seq"),
                      db.Index("ix_batch_event_batch_seq", "batch_id", "seq"))
