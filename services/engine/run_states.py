"""The states of a run and of its stages, one definition for the services and the database,
and the clock their changes are stamped with."""
from datetime import datetime, timezone

RUN_STATES = ("queued", "running", "awaiting_selection", "completed", "failed", "cancelled",
              "interrupted")
ACTIVE_STATES = ("queued", "running", "awaiting_selection")
FINISHED_STATES = ("completed", "failed", "cancelled", "interrupted")
RESUMABLE_STATES = ("interrupted", "failed", "cancelled")
LIVE_STATES = ("running",)   # a run awaiting a selection survives a restart as it is
DONE_STAGE_STATES = ("completed", "reused")


def utcnow():
    """Now, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def aware(moment):
    """A stored datetime as timezone-aware UTC (SQLite gives them back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
