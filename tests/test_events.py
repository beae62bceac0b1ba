"""EventRecorder numbering: gapless, unique and in listener order even under concurrent emitters."""
import threading

from services.events import EventRecorder


class MemoryStore:
    def __init__(self, start=0):
        self.events = []
        self.start = start

    def last_seq(self, session_id):
        return self.start

    def append_event(self, session_id, seq, kind, event):
        self.events.append((session_id, seq, kind))


def test_seq_continues_from_the_store_and_is_per_run():
    store = MemoryStore(start=7)
    recorder = EventRecorder(store)
    assert recorder.emit("a", "log_stream", {})["seq"] == 8
    assert recorder.emit("a", "log_stream", {})["seq"] == 9
    assert recorder.emit("b", "log_stream", {})["seq"] == 8
    event = recorder.emit("a", "pipeline_progress", {"progress": 1})
    assert event["session_id"] == "a" and event["progress"] == 1
    assert event["timestamp"].endswith("Z")


def test_concurrent_emitters_give_a_gapless_sequence_in_listener_order():
    store = MemoryStore()
    heard = []
    recorder = EventRecorder(store, [lambda kind, event: heard.append(event["seq"])])

    def emit_many():
        for _ in range(200):
            recorder.emit("run", "log_stream", {"message": "x"})

    threads = [threading.Thread(target=emit_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert heard == list(range(1, 1601))
    assert [seq for _, seq, _ in store.events] == heard


def test_forget_then_emit_reads_the_store_again():
    store = MemoryStore(start=3)
    recorder = EventRecorder(store)
    recorder.emit("a", "log_stream", {})
    recorder.forget("a")
    store.start = 10
    assert recorder.emit("a", "log_stream", {})["seq"] == 11
