"""The states of a run and of its stages, one definition for the services and the database."""

RUN_STATES = ("queued", "running", "awaiting_selection", "completed", "failed", "cancelled",
              "interrupted")
ACTIVE_STATES = ("queued", "running", "awaiting_selection")
FINISHED_STATES = ("completed", "failed", "cancelled", "interrupted")
RESUMABLE_STATES = ("interrupted", "failed", "cancelled")
LIVE_STATES = ("running",)   # a run awaiting a selection survives a restart as it is
DONE_STAGE_STATES = ("completed", "reused")
