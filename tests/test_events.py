"""EventRecorder numbering: gapless, unique and in listener order even under concurrent emitters."""
import threading
import time

from services.engine.events import EventRecorder


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


class SlowStore(MemoryStore):
    """A store whose every write takes 2 ms, as a busy database might; counts transactions."""

    def __init__(self):
        super().__init__()
        self.transactions = 0

    def last_seq(self, session_id):
        return max((seq for sid, seq, _ in self.events if sid == session_id), default=0)

    def append_events(self, session_id, sent):
        import time

        time.sleep(0.002)   # kept: the deliberate slowness of this fake store
        self.transactions += 1
        self.events.extend((session_id, event["seq"], kind) for kind, event in sent)


def test_log_lines_are_queued_numbered_in_order_and_flushed_before_other_events():
    import time

    store = SlowStore()
    heard = []
    recorder = EventRecorder(store, [lambda kind, event: heard.append(
        (kind, event["seq"], event.get("message")))])
    started = time.monotonic()
    for number in range(2000):
        recorder.emit_log("run", {"level": "INFO", "message": str(number), "logger": "pipeline"})
        if number == 999:
            progress = recorder.emit("run", "pipeline_progress", {"progress": 50})
    queued_in = time.monotonic() - started
    completion = recorder.emit("run", "pipeline_completion", {"status": "completed"})
    # 2,000 writes of 2 ms would take 4 s; queueing a line costs the logging thread nothing.
    assert queued_in < 1.0, queued_in
    assert store.transactions < 1000
    assert [seq for _kind, seq, _m in heard] == list(range(1, 2003))
    lines = [message for kind, _seq, message in heard if kind == "log_stream"]
    assert lines == [str(number) for number in range(2000)]
    # Every line logged before an event is numbered before it.
    assert progress["seq"] == 1001 and completion["seq"] == 2002
    assert [seq for _, seq, _ in store.events] == list(range(1, 2003))


def test_forget_records_the_queued_lines():
    store = MemoryStore()
    recorder = EventRecorder(store)
    recorder.emit_log("a", {"message": "last words"})
    recorder.forget("a")
    assert [(seq, kind) for _sid, seq, kind in store.events] == [(1, "log_stream")]


def test_progress_and_its_update_come_together_while_log_lines_flood():
    """The log writer thread records lines whenever it can take the run's lock: none of them
    may fall between a pipeline_progress and its pipeline_update."""
    store = MemoryStore()
    heard = []
    recorder = EventRecorder(store, [lambda kind, event: heard.append(kind)])
    stop = threading.Event()

    def flood():
        number = 0
        while not stop.is_set():
            recorder.emit_log("run", {"level": "INFO", "message": "line", "logger": "pipeline"})
            number += 1
            if number % 20 == 0:
                time.sleep(0.0002)   # kept: a stage logs in bursts

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        for number in range(300):
            sent = recorder.emit_together("run", [("pipeline_progress", {"n": number}),
                                                  ("pipeline_update", {"n": number})])
            assert [event["n"] for event in sent] == [number, number]
            assert sent[1]["seq"] == sent[0]["seq"] + 1
            time.sleep(0.0005)   # kept: paces the updates among the flood of lines
    finally:
        stop.set()
        flooder.join(10)
    recorder.forget("run")
    assert heard.count("pipeline_progress") == heard.count("pipeline_update") == 300
    assert "log_stream" in heard
    for index, kind in enumerate(heard):
        if kind == "pipeline_progress":
            assert heard[index + 1] == "pipeline_update", heard[index - 2:index + 3]
    assert [seq for _s, seq, _k in store.events] == list(range(1, len(store.events) + 1))
