"""The database side of batches: batch rows, their entries with their runs, and batch events."""
from sqlalchemy import func, select

from storage.database import db
from storage.models import Batch, BatchEntry, BatchEvent, Run, utcnow
from storage.runs import EventLog

PAGE_SIZE = 20


class SqlBatchStore:
    """Batches in the database, each call in its own app context; also the event store of the
    batch events' recorder (`last_seq`, `append_events`)."""

    def __init__(self, app):
        self.app = app
        self.events = EventLog(app, BatchEvent, "batch_id")
        self.last_seq = self.events.last_seq
        self.append_events = self.events.append_events
        self.events_since = self.events.since

    def create(self, batch_id, kind, source, title, stages, preset, entries):
        """Store a batch and its entries: (position, url, title, duration, weight, session_id)."""
        with self.app.app_context():
            batch = Batch(batch_id=batch_id, kind=kind, source=source, title=title,
                          selected_stages=list(stages), preset=preset, state="running")
            batch.entries = [BatchEntry(position=position, url=url, title=entry_title,
                                        duration=duration, weight=weight, session_id=session_id)
                             for position, url, entry_title, duration, weight, session_id
                             in entries]
            db.session.add(batch)
            db.session.commit()

    @staticmethod
    def batch_of(session_id):
        """The newest batch a run belongs to, or None (in the caller's app context)."""
        return db.session.scalar(select(Batch).join(BatchEntry)
                                 .where(BatchEntry.session_id == session_id)
                                 .order_by(Batch.id.desc()).limit(1))

    def has_batch(self, batch_id):
        """Whether a batch with this id exists."""
        with self.app.app_context():
            return db.session.scalar(select(Batch.id).where(Batch.batch_id == batch_id)) is not None

    def load(self, batch_id):
        """The batch as a dict with its entries (each with its run's fields), or None."""
        with self.app.app_context():
            batch = db.session.scalar(select(Batch).where(Batch.batch_id == batch_id))
            if batch is None:
                return None
            runs = {run.session_id: run for run in db.session.scalars(
                select(Run).where(Run.session_id.in_([e.session_id for e in batch.entries])))}
            entries = []
            for entry in batch.entries:
                run = runs.get(entry.session_id)
                entries.append({
                    "position": entry.position, "url": entry.url,
                    "title": entry.title or (run.title if run else None),
                    "duration": (run.media_duration if run and run.media_duration else None)
                    or entry.duration,
                    "weight": entry.weight, "session_id": entry.session_id,
                    "state": run.state if run else "failed",
                    "progress": run.progress if run else 0.0,
                    "current_stage": run.current_stage if run else None,
                    "time_elapsed": run.duration if run else None,
                    "error": run.error if run else "The run of this entry is gone.",
                })
            return {"batch_id": batch.batch_id, "kind": batch.kind, "source": batch.source,
                    "title": batch.title, "state": batch.state,
                    "selected_stages": batch.selected_stages, "preset": batch.preset,
                    "progress": batch.progress, "duration": batch.duration,
                    "created_at": batch.created_at, "finished_at": batch.finished_at,
                    "entries": entries}

    def record_state(self, batch_id, state, progress, finished):
        """Store the batch's derived state and progress; `finished` stamps its end."""
        with self.app.app_context():
            batch = db.session.scalar(select(Batch).where(Batch.batch_id == batch_id))
            if batch is None:
                return
            batch.state, batch.progress = state, progress
            if finished and batch.finished_at is None:
                batch.finished_at = utcnow()
            db.session.commit()

    def reopen(self, batch_id):
        """A finished batch runs again (a retry): the idle time since its end is not counted."""
        with self.app.app_context():
            batch = db.session.scalar(select(Batch).where(Batch.batch_id == batch_id))
            if batch is None or batch.finished_at is None:
                return
            batch.waited_seconds = (batch.waited_seconds or 0.0) + max(
                (utcnow().replace(tzinfo=None) - batch.finished_at.replace(tzinfo=None))
                .total_seconds(), 0.0)
            batch.finished_at, batch.state = None, "running"
            db.session.commit()

    def unfinished(self, final_states):
        """The ids of batches whose stored state is not final, oldest first."""
        with self.app.app_context():
            return list(db.session.scalars(select(Batch.batch_id)
                                           .where(Batch.state.not_in(final_states))
                                           .order_by(Batch.id)))

    def page(self, number):
        """(batches of page `number`, newest first, as dicts; page count; total)."""
        with self.app.app_context():
            total = db.session.scalar(select(func.count(Batch.id)))
            pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
            number = min(max(number, 1), pages)
            rows = db.session.scalars(select(Batch).order_by(Batch.id.desc())
                                      .offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
            return [{"batch_id": b.batch_id, "kind": b.kind, "source": b.source, "title": b.title,
                     "state": b.state, "progress": round(b.progress or 0.0, 2),
                     "entries": len(b.entries), "time_elapsed": round(b.duration, 1),
                     "created_at": b.created_at} for b in rows], number, pages, total
