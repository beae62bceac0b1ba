"""The thread runner (services/engine/thread_runner.py): its lock and a run's event lock are
taken in one order, so a snapshot never deadlocks with a run that ends."""
import threading
import time

from services.engine.events import EventRecorder
from services.engine.run_spec import RunSpec
from services.engine.thread_runner import ThreadRunner


class NoStore:
    """Events that go nowhere."""

    def last_seq(self, session_id):
        return 0

    def append_event(self, session_id, seq, kind, event):
        return True


class Ended:
    """A controller whose run has just ended."""

    def __init__(self, session_id, folder):
        self.spec = RunSpec(session_id=session_id, url="http://127.0.0.1:9/a.mp4", stages=[1],
                            episode_dir=folder)
        self.thread = None

    def live_progress(self):
        return {"progress": 100.0}


def test_a_snapshot_and_an_ending_run_do_not_deadlock(tmp_path):
    recorder = EventRecorder(NoStore())
    runner = ThreadRunner(make_controller=None, recorder=recorder, store=NoStore())
    ended = Ended("run0", tmp_path)
    runner.running["run0"] = ended
    asked = []
    with recorder.locked("run0"):   # what a snapshot holds while it asks for the live progress
        finishing = threading.Thread(target=runner._finished, args=(ended,), daemon=True)
        finishing.start()
        time.sleep(0.3)   # kept: lets the ending run reach the run's lock before the snapshot asks
        asking = threading.Thread(target=lambda: asked.append(runner.live_progress("run0")),
                                  daemon=True)
        asking.start()
        asking.join(5)
        assert not asking.is_alive(), "the snapshot waits for the runner's lock forever"
    finishing.join(5)
    assert not finishing.is_alive()
    assert "run0" not in runner.running
