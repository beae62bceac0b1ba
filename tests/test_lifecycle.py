"""The run lifecycle (services/engine/lifecycle.py): each change of a run's state is stored and
announced by its standard event, the completion event last."""
from datetime import timedelta
from types import SimpleNamespace

from services.engine.events import EventRecorder
from services.engine.lifecycle import WAITING_MESSAGE, RunLifecycle, completion, waiting_payload
from services.engine.run_states import utcnow


class Store:
    """Runs as dicts and events as a list, the way the lifecycle uses a store."""

    def __init__(self, states=None):
        self.states = dict(states or {})
        self.updates = []
        self.events = []
        self.saved = 0

    def last_seq(self, session_id):
        return sum(1 for owner, *_ in self.events if owner == session_id)

    def append_event(self, session_id, seq, kind, event):
        self.events.append((session_id, seq, kind, event))
        return True

    def claim(self, session_id, from_state, to_state):
        if self.states.get(session_id) != from_state:
            return False
        self.states[session_id] = to_state
        return True

    def update_run(self, session_id, **fields):
        self.updates.append((session_id, fields))
        if "state" in fields:
            self.states[session_id] = fields["state"]

    def create_run(self, spec, episode_name, effective, state="queued"):
        self.states[spec.session_id] = state

    def save(self):
        self.saved += 1


def lifecycle(states=None):
    store = Store(states)
    return RunLifecycle(store, EventRecorder(store)), store


def kinds(store, session_id):
    return [kind for owner, _seq, kind, _event in store.events if owner == session_id]


def row(state, **fields):
    """A stored run as the lifecycle sees it inside the store's `editing` block."""
    values = dict(session_id="r1", state=state, title="Talk", progress=40.0, duration=12.0,
                  started_at=utcnow() - timedelta(seconds=60), finished_at=None, error=None,
                  waiting_since=None, waited_seconds=0.0, stage_runs=[])
    values.update(fields)
    return SimpleNamespace(**values)


def test_a_queued_run_is_cancelled_once_with_one_completion_event():
    runs, store = lifecycle({"r1": "queued"})
    assert runs.cancel_queued("r1") is True
    assert runs.cancel_queued("r1") is False     # no longer queued: nothing more happens
    assert store.states["r1"] == "cancelled"
    assert kinds(store, "r1") == ["pipeline_completion"]
    assert store.events[0][3]["status"] == "cancelled"


def test_a_worker_claims_a_queued_run_only():
    runs, store = lifecycle({"r1": "queued", "r2": "cancelled"})
    assert runs.claim("r1", "w1") is True and store.states["r1"] == "running"
    assert runs.claim("r2", "w1") is False and store.states["r2"] == "cancelled"
    assert kinds(store, "r1") == ["log_stream"] and "w1" in store.events[0][3]["message"]
    assert kinds(store, "r2") == []


def test_the_end_stores_the_state_and_sends_the_completion_last():
    runs, store = lifecycle({"r1": "running"})
    payload = {"progress": 100.0, "error": None, "message": "Run completed", "status": "completed"}
    runs.finish("r1", "completed", payload, [{"name": "a.txt", "size": 1}], 3.456)
    assert kinds(store, "r1") == ["pipeline_progress", "pipeline_update", "pipeline_completion"]
    assert store.states["r1"] == "completed"
    assert store.events[-1][3] | {"seq": 0, "timestamp": 0, "session_id": 0} == (
        completion("completed", [{"name": "a.txt", "size": 1}], 3.456)
        | {"seq": 0, "timestamp": 0, "session_id": 0})
    assert store.events[-1][3]["duration"] == 3.46


def test_waiting_for_a_selection_says_where_in_one_payload():
    runs, store = lifecycle({"r1": "running"})
    runs.await_selection("r1", "Talk", 57.0, 20.0)
    assert store.states["r1"] == "awaiting_selection"
    sent = [event for _o, _s, kind, event in store.events if kind == "pipeline_progress"]
    assert sent[0]["review_url"] == "/runs/r1/segments"
    assert sent[0]["message"] == WAITING_MESSAGE
    assert set(waiting_payload("r1", "Talk", 57.0, 20.0)) <= set(sent[0])


def test_cancelling_a_waiting_run_counts_the_wait_as_waited():
    runs, store = lifecycle()
    waiting = row("awaiting_selection", waiting_since=utcnow() - timedelta(seconds=30))
    runs.cancel_waiting(waiting, outputs=[])
    assert waiting.state == "cancelled" and waiting.finished_at is not None
    assert waiting.waiting_since is None and waiting.waited_seconds >= 29
    assert kinds(store, "r1") == ["pipeline_completion"]


def test_only_running_runs_are_interrupted_and_say_so():
    runs, store = lifecycle()
    stage = SimpleNamespace(stage=2, state="running", finished_at=None)
    running, waiting = row("running", stage_runs=[stage]), row("awaiting_selection",
                                                              session_id="r2")
    interrupted = runs.interrupt([running, waiting], "The server")
    assert [item[0] for item in interrupted] == ["r1"]
    assert running.state == "interrupted" and stage.state == "interrupted"
    assert "stage 2" in running.error and waiting.state == "awaiting_selection"
    error = [event for _o, _s, kind, event in store.events if kind == "pipeline_error"]
    assert error[0]["recoverable"] is True


def test_a_resumed_run_is_queued_or_waits_again():
    runs, store = lifecycle()
    done = SimpleNamespace(stage=1, state="completed", error=None, finished_at=None)
    failed = SimpleNamespace(stage=2, state="failed", error="boom", finished_at=utcnow())
    stopped = row("failed", stage_runs=[done, failed], error="boom", finished_at=utcnow())
    assert runs.resume(stopped, {"progress": 55.0, "time_elapsed": 12.0}, False) == "queued"
    assert stopped.state == "queued" and stopped.error is None and stopped.progress == 55.0
    assert failed.state == "pending" and done.state == "completed"
    again = row("cancelled")
    assert runs.resume(again, {}, True) == "awaiting_selection"
    assert again.waiting_since is not None
    assert kinds(store, "r1")[-1] == "pipeline_progress"
