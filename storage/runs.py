"""The database side of the pipeline: runs, stage runs and events, usable from any thread."""
from contextlib import contextmanager

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.engine.estimation import timing_signature
from storage.database import db
from storage.models import Event, Run, StageRun, utcnow

RUN_FIELDS = {"state", "title", "media_duration", "progress", "current_stage", "error",
              "waiting_since", "waited_seconds"}
STAGE_FIELDS = {"state", "duration", "media_duration", "parameters", "error"}


class EventLog:
    """The numbered events of one table (a run's, or a batch's), keyed by their owner's id."""

    def __init__(self, app, model, key):
        self.app = app
        self.model = model
        self.key = key

    def _owner(self, owner_id):
        return getattr(self.model, self.key) == owner_id

    def last_seq(self, owner_id):
        """The highest stored `seq` (0 when none)."""
        with self.app.app_context():
            value = db.session.scalar(select(func.max(self.model.seq)).where(self._owner(owner_id)))
            return value or 0

    def append_events(self, owner_id, sent):
        """Store (kind, event) pairs in one transaction; False (nothing stored) when another
        process already stored one of their `seq`s."""
        rows = [{self.key: owner_id, "seq": event["seq"], "kind": kind, "payload": event,
                 "timestamp": event["timestamp"]} for kind, event in sent]
        with self.app.app_context():
            try:
                with db.engine.begin() as connection:
                    connection.execute(insert(self.model), rows)
            except IntegrityError:
                return False
            return True

    def since(self, owner_id, since=0, limit=None, until=None):
        """Stored events with `since < seq` (and `seq <= until`), in order, as (kind, event)."""
        model = self.model
        with self.app.app_context():
            query = (select(model.kind, model.payload).where(self._owner(owner_id), model.seq > since)
                     .order_by(model.seq))
            if until is not None:
                query = query.where(model.seq <= until)
            if limit:
                query = query.limit(limit)
            return [(kind, payload) for kind, payload in db.session.execute(query)]


class SqlRunStore:
    """Implements the store the services expect, each call in its own app context."""

    def __init__(self, app):
        self.app = app
        self.events = EventLog(app, Event, "session_id")

    @contextmanager
    def editing(self, session_id):
        """The Run row of `session_id` (None when unknown), fresh from the database in its own
        app context; what is changed on it is committed when the block ends (rolled back on an
        error). `save()` commits earlier, e.g. before a run thread starts."""
        with self.app.app_context():
            try:
                yield db.session.scalar(select(Run).where(Run.session_id == session_id))
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise

    @contextmanager
    def runs_in(self, *states):
        """The runs in these states, oldest first, to read or change; committed at the end."""
        with self.app.app_context():
            try:
                yield db.session.scalars(select(Run).where(Run.state.in_(states)).order_by(Run.id)).all()
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise

    @staticmethod
    def save():
        """Commit the changes made inside `editing` or `runs_in` now."""
        db.session.commit()

    def last_seq(self, session_id):
        """The highest stored `seq` of a run (0 when none)."""
        return self.events.last_seq(session_id)

    def has_run(self, session_id):
        """Whether a run with this id exists."""
        with self.app.app_context():
            return db.session.scalar(select(Run.id).where(Run.session_id == session_id)) is not None

    def append_event(self, session_id, seq, kind, event):
        """Store one event; False when another process already stored this `seq`."""
        return self.events.append_events(session_id, [(kind, dict(event, seq=seq))])

    def append_events(self, session_id, sent):
        """Store (kind, event) pairs in one transaction; False (nothing stored) when another
        process already stored one of their `seq`s."""
        return self.events.append_events(session_id, sent)

    def claim(self, session_id, from_state="queued", to_state="running"):
        """Move a run from one state to another only if it is still in the first, in one
        statement: of two processes racing (a worker starting it, a cancel), one wins."""
        with self.app.app_context():
            with db.engine.begin() as connection:
                changed = connection.execute(
                    update(Run).where(Run.session_id == session_id, Run.state == from_state)
                    .values(state=to_state))
                return changed.rowcount == 1

    def live_runs(self, *states):
        """(session_id, url, selected_stages, episode_dir, state) of the runs in `states`,
        oldest first."""
        with self.app.app_context():
            return [tuple(row) for row in db.session.execute(
                select(Run.session_id, Run.url, Run.selected_stages, Run.episode_dir, Run.state)
                .where(Run.state.in_(states)).order_by(Run.id))]

    def events_since(self, session_id, since=0, limit=None, until=None):
        """Stored events with `since < seq` (and `seq <= until`), in order, as (kind, event)."""
        return self.events.since(session_id, since, limit, until)

    def last_progress(self, session_id):
        """The payload of the run's newest `pipeline_progress` event, or None."""
        with self.app.app_context():
            return db.session.scalar(
                select(Event.payload).where(Event.session_id == session_id,
                                            Event.kind == "pipeline_progress")
                .order_by(Event.seq.desc()).limit(1))

    def create_run(self, spec, episode_name, settings=None, state="queued"):
        """Store a new run, queued unless told otherwise (with its effective preset fields),
        and a pending row for each selected stage."""
        from services.stages import get_stage

        with self.app.app_context():
            run = Run(session_id=spec.session_id, url=spec.url, state=state,
                      selected_stages=list(spec.stages), preset=spec.preset,
                      options=spec.options, episode_dir=episode_name, settings=settings)
            run.stage_runs = [StageRun(stage=n, stage_key=get_stage(n).key, state="pending")
                              for n in spec.stages]
            db.session.add(run)
            db.session.commit()

    @staticmethod
    def _update(query, allowed, started, finished, fields):
        """Set the allowed fields of the row `query` finds; stamp start and end times."""
        row = db.session.scalar(query)
        if row is None:
            return
        for name, value in fields.items():
            if name in allowed:
                setattr(row, name, value)
        if started:
            row.started_at, row.finished_at = utcnow(), None
        if finished:
            row.finished_at = utcnow()
        db.session.commit()

    def update_run(self, session_id, started=False, finished=False, waiting=False, **fields):
        """Change a run's fields; `started`/`finished` stamp the time, `waiting` the start
        of a wait for the user's selection."""
        if waiting:
            fields["waiting_since"] = utcnow()
        with self.app.app_context():
            self._update(select(Run).where(Run.session_id == session_id), RUN_FIELDS,
                         started, finished, fields)

    def update_stage(self, session_id, number, started=False, finished=False, **fields):
        """Change one stage run's fields; `started`/`finished` stamp the time."""
        with self.app.app_context():
            self._update(select(StageRun).join(Run).where(Run.session_id == session_id,
                                                          StageRun.stage == number),
                         STAGE_FIELDS, started, finished, fields)

    def stage_history(self, preset, signatures, limit=20):
        """{stage_key: [(media_seconds, duration_seconds), ...]} of recent completed stage runs
        with the same preset and the same timing signature (model, compute type, beam …)."""
        with self.app.app_context():
            rows = db.session.execute(
                select(StageRun.stage_key, StageRun.media_duration, StageRun.duration,
                       StageRun.parameters)
                .join(Run).where(StageRun.state == "completed", StageRun.duration.is_not(None),
                                 StageRun.stage_key.in_(list(signatures)), Run.preset == preset)
                .order_by(StageRun.id.desc()).limit(limit * 20))
            history = {}
            for key, media, duration, parameters in rows:
                if timing_signature(parameters) != signatures[key]:
                    continue
                samples = history.setdefault(key, [])
                if len(samples) < limit:
                    samples.append((media, duration))
            return history
