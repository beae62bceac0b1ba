"""Batches on the web side: a request becomes one run per entry (through Pipeline.start), and a
watcher turns the runs' progress into the batch's own numbered events."""
import logging
import threading
import time
import uuid

from orchestration.pipeline import ResumeRefused
from services.batches import (
    FINAL_BATCH_STATES,
    MAX_LIST_LINES,
    batch_state,
    entry_weights,
    overall,
    parse_ranges,
    parse_url_list,
    select,
)
from services.download.expansion import expand
from services.download.playlist import looks_like_playlist
from services.engine import events
from services.engine.events import EventRecorder, utc_timestamp
from services.input_checks import MAX_URL_LENGTH, ValidationError, validate_url
from services.podcast.identity import default_episode_name
from services.run_request import episode_directory
from services.stages import get_stage
from storage.batches import SqlBatchStore
from storage.models import ACTIVE_STATES, RESUMABLE_STATES, iso

log = logging.getLogger("pipeline")
TICK_SECONDS = 0.5
HEARTBEAT_SECONDS = 1.0
PROGRESS_STEP = 1.0        # an entry's event is sent when its progress moved this far
BATCH_FIELDS = ("source", "urls", "url_file", "playlist_items")   # not passed on to the runs
ENTRY_KEYS = ("session_id", "state", "stage", "sub_stage", "error", "title")
SOURCES = ("auto", "video", "playlist", "urls")
WATCH_KEYS = ("last_sent", "stored_progress")   # the watcher's own notes in a view


def batch_kind(data):
    """"playlist", "urls" or "file" when the request is a batch; None for one video."""
    if not isinstance(data, dict):
        return None
    source = data.get("source") or "auto"
    if source not in SOURCES:
        raise ValidationError("source", "source is auto, video, playlist or urls.",
                              "invalid_source")
    upload = data.get("url_file")
    if upload is not None:
        if not isinstance(upload, tuple):   # only a form's file field gives (name, text)
            raise ValidationError("url_file", "Upload the URL list as a file in a form "
                                  "(multipart/form-data), or send its lines as urls.",
                                  "invalid_list")
        return "file"
    urls = data.get("urls")
    if source == "urls" or (isinstance(urls, str) and urls.strip()) or isinstance(urls, list):
        return "urls"
    url = data.get("youtube_url")
    if isinstance(url, str) and len([line for line in url.splitlines() if line.strip()]) > 1:
        return "urls"
    if source == "playlist":
        return "playlist"
    if source == "auto" and isinstance(url, str) and url.strip() and len(url) <= MAX_URL_LENGTH:
        try:
            return "playlist" if looks_like_playlist(url.strip()) else None
        except ValueError:
            return None
    return None


class Batches:
    """The batches of one app (`app.extensions["batches"]`)."""

    def __init__(self, app, pipeline):
        self.app = app
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.store = SqlBatchStore(app)
        self.recorder = EventRecorder(self.store, key="batch_id")
        self._views = {}            # batch_id -> the state its events have shown
        self._active = set()        # batches whose runs are not all final
        self._wake = threading.Condition()
        self._watcher = None

    # --- submitting ------------------------------------------------------------------------
    def _entries(self, kind, data):
        """(title, source, entries) of the request; ValidationError when unusable."""
        block_private = bool(self.settings["limits"].get("block_private_networks"))
        limit = self.settings["batches"]["max_entries"]
        positions = parse_ranges(data.get("playlist_items"))
        if kind == "playlist":
            url = validate_url(data.get("youtube_url"), block_private)
            # Positions past the limit need not be fetched: one more shows the batch is too long.
            found = expand(url, self.settings, positions and positions[:limit + 1], limit)
            if not found.is_playlist:
                return None
            return found.title, url, select(found.entries, None, limit)
        if kind == "file":
            name, text = data["url_file"]
            entries = parse_url_list(text, block_private, field="url_file")
            title, source = f"URL list {name}" if name else "URL list", name
        else:
            urls = data.get("urls")
            if urls in (None, ""):
                urls = data.get("youtube_url")   # several lines in the URL field
            if isinstance(urls, list):
                if len(urls) > MAX_LIST_LINES or not all(isinstance(item, str) for item in urls):
                    raise ValidationError("urls", "urls is a list of URL texts.", "invalid_list")
                urls = "\n".join(urls)
            entries = parse_url_list(urls, block_private)
            title, source = f"{len(entries)} URLs", None
        return title, source, select(entries, positions, limit)

    def _entry_request(self, data, url):
        """The run request of one entry: the batch's settings, the entry's URL and folder."""
        request = {key: value for key, value in data.items() if key not in BATCH_FIELDS}
        parent = data.get("episode_directory")
        name = default_episode_name(url)
        request.update(youtube_url=url,
                       episode_directory=f"{parent.strip().strip('/')}/{name}"
                       if isinstance(parent, str) and parent.strip() else name)
        return request

    def submit(self, kind, data):
        """Start (or queue) one run per entry, in order; returns (status, batch_id,
        session_ids), or None when the URL turned out to be one video."""
        parent = data.get("episode_directory")
        if parent is not None and not isinstance(parent, str):
            raise ValidationError("episode_directory", "episode_directory must be a folder name.")
        if isinstance(parent, str) and parent.strip():
            episode_directory(self.pipeline.episodes_root, parent, "")
        found = self._entries(kind, data)
        if found is None:
            return None
        title, source, entries = found
        requests = [self._entry_request(data, entry.url) for entry in entries]
        checked = [self.pipeline.check(request) for request in requests]
        first = checked[0].spec   # every entry has the batch's stages and preset
        keys = [get_stage(number).key for number in first.stages]
        weights = entry_weights([entry.duration for entry in entries],
                                self.pipeline.estimator_for(first), keys)
        batch_id = uuid.uuid4().hex
        started = self.pipeline.start_many(checked)
        self.store.create(batch_id, kind, source, title, first.stages, first.preset,
                          [(position, entry.url, entry.title, entry.duration, weight, run[1])
                           for position, (entry, weight, run)
                           in enumerate(zip(entries, weights, started), start=1)])
        with self.recorder.locked(batch_id):
            self._views[batch_id] = self._compute(batch_id)
        self._watch(batch_id)
        log.info("Batch %s: %d entries of %s", batch_id[:8], len(entries), source or title)
        return started[0][0], batch_id, [run[1] for run in started]

    # --- what the batch shows ----------------------------------------------------------------
    def _entry_view(self, entry):
        live = None
        if entry["state"] == "running":
            live = self.pipeline.runner.live_progress(entry["session_id"], "running")
        stage = live["stage"] if live else entry["current_stage"]
        progress = 100.0 if entry["state"] == "completed" else (
            live["progress"] if live else round(entry["progress"] or 0.0, 2))
        remaining = live["estimated_remaining"] if live else (
            0.0 if entry["state"] not in ACTIVE_STATES else None)
        return {
            "position": entry["position"], "url": entry["url"],
            "title": entry["title"] or (live or {}).get("title"),
            "duration": entry["duration"], "weight": round(entry["weight"], 2),
            "session_id": entry["session_id"], "state": entry["state"],
            "stage": stage, "stage_name": get_stage(stage).name if stage else None,
            "sub_stage": live["sub_stage"] if live else None,
            "stage_progress": live["stage_progress"] if live else None,
            "progress": progress,
            "time_elapsed": live["time_elapsed"] if live else (
                round(entry["time_elapsed"], 1) if entry["time_elapsed"] is not None else None),
            "estimated_remaining": remaining,
            "error": entry["error"],
            "monitor_url": f"/?session={entry['session_id']}",
            "run_url": f"/runs/{entry['session_id']}",
        }

    def _compute(self, batch_id):
        """The batch's current state from its runs (called with the batch's lock held)."""
        batch = self.store.load(batch_id)
        if batch is None:
            return None
        entries = [self._entry_view(entry) for entry in batch["entries"]]
        progress, remaining = overall(entries, self.settings["max_concurrent_runs"])
        shown = self._views.get(batch_id)
        floor = shown["progress"] if shown else batch["progress"] or 0.0
        counts = {}
        for entry in entries:
            counts[entry["state"]] = counts.get(entry["state"], 0) + 1
        state = batch_state([entry["state"] for entry in entries])
        return {
            "batch_id": batch_id, "kind": batch["kind"], "source": batch["source"],
            "title": batch["title"], "state": state,
            "selected_stages": batch["selected_stages"], "preset": batch["preset"],
            "entries": entries, "counts": counts,
            "progress": max(progress, floor),
            "time_elapsed": round(batch["duration"], 1),
            "estimated_remaining": remaining if state == "running" else 0.0,
            "created_at": iso(batch["created_at"]), "finished_at": iso(batch["finished_at"]),
        }

    def snapshot(self, batch_id):
        """The batch snapshot (what its events have shown, with `last_seq`), or None."""
        if not self.store.has_batch(batch_id):
            return None
        with self.recorder.locked(batch_id):
            view = self._views.get(batch_id) or self._compute(batch_id)
            if view is None:
                return None
            self._views.setdefault(batch_id, view)
            shown = {key: value for key, value in view.items() if key not in WATCH_KEYS}
            return dict(shown, last_seq=self.store.last_seq(batch_id), timestamp=utc_timestamp())

    # --- the watcher -------------------------------------------------------------------------
    def _watch(self, batch_id):
        with self._wake:
            self._active.add(batch_id)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch_loop, name="batch-watcher",
                                                 daemon=True)
                self._watcher.start()
            self._wake.notify()

    def _watch_loop(self):
        try:
            while True:
                with self._wake:
                    while not self._active:
                        self._wake.wait()
                    active = sorted(self._active)
                for batch_id in active:
                    try:
                        self._tick(batch_id)
                    except Exception:   # the database busy: the next tick tries again
                        log.warning("Batch %s could not be updated", batch_id[:8], exc_info=True)
                time.sleep(TICK_SECONDS)
        finally:
            with self._wake:
                self._watcher = None

    @staticmethod
    def _entry_moved(before, now):
        if before is None or any(before.get(key) != now.get(key) for key in ENTRY_KEYS):
            return True
        return (now["progress"] - (before["progress"] or 0.0) >= PROGRESS_STEP
                or (now["progress"] == 100.0 != before["progress"]))

    def _tick(self, batch_id):
        """Send what changed since the batch's last events; end the batch when its runs have."""
        with self.recorder.locked(batch_id):
            shown = self._views.get(batch_id)
            view = self._compute(batch_id)
            if view is None:
                with self._wake:
                    self._active.discard(batch_id)
                return
            if shown is None:
                shown = dict(view, state=None, entries=[], last_sent=0.0)
            before = {entry["position"]: entry for entry in shown["entries"]}
            kept = []
            for entry in view["entries"]:
                old = before.get(entry["position"])
                if self._entry_moved(old, entry):
                    self.recorder.emit(batch_id, events.BATCH_ENTRY, entry)
                    kept.append(entry)
                else:
                    kept.append(old)
            view["entries"] = kept
            now = time.monotonic()
            summary = {key: view[key] for key in ("state", "progress", "time_elapsed",
                                                  "estimated_remaining", "counts")}
            changed = any(shown.get(key) != summary[key] for key in ("state", "progress", "counts"))
            if changed or now - shown.get("last_sent", 0.0) >= HEARTBEAT_SECONDS:
                self.recorder.emit(batch_id, events.BATCH_PROGRESS, summary)
                view["last_sent"] = now
            else:
                view["last_sent"] = shown.get("last_sent", 0.0)
            final = view["state"] in FINAL_BATCH_STATES
            # Stored when the state changes and as progress grows, so a restart shows no less.
            view["stored_progress"] = shown.get("stored_progress", 0.0)
            if (view["state"] != shown.get("state")
                    or view["progress"] - view["stored_progress"] >= PROGRESS_STEP):
                self.store.record_state(batch_id, view["state"], view["progress"], final)
                view["stored_progress"] = view["progress"]
            if final:
                view["finished_at"] = iso(self.store.load(batch_id)["finished_at"])
                self.recorder.emit(batch_id, events.BATCH_COMPLETION, {
                    "state": view["state"], "progress": view["progress"],
                    "counts": view["counts"], "duration": view["time_elapsed"]})
                self.recorder.forget(batch_id)   # a retry numbers on from the stored seq
                with self._wake:
                    self._active.discard(batch_id)
            self._views[batch_id] = view

    def recover(self):
        """After a restart: watch the batches that had not ended (their runs were interrupted
        or queued again), so each ends in a final state."""
        for batch_id in self.store.unfinished(FINAL_BATCH_STATES):
            self._watch(batch_id)

    # --- actions -------------------------------------------------------------------------------
    def cancel_all(self, batch_id):
        """Cancel every live run of the batch; the number cancelled, or None when unknown."""
        batch = self.store.load(batch_id)
        if batch is None:
            return None
        live = [entry for entry in batch["entries"]
                if entry["state"] in ACTIVE_STATES]
        # Queued runs first, last first: a running run that ends must not start the next one.
        live.sort(key=lambda entry: (entry["state"] == "running", -entry["position"]))
        for entry in live:
            self.pipeline.cancel(entry["session_id"])
        return len(live)

    def retry_failed(self, batch_id):
        """Resume each failed, interrupted or cancelled run of the batch (from its last
        completed stage); returns the session ids resumed, or None when unknown."""
        batch = self.store.load(batch_id)
        if batch is None:
            return None
        again = [entry["session_id"] for entry in batch["entries"]
                 if entry["state"] in RESUMABLE_STATES]
        if not again:
            return []
        self.store.reopen(batch_id)
        resumed = []
        for session_id in again:
            try:
                self.pipeline.resume(session_id)
                resumed.append(session_id)
            except ResumeRefused:
                continue   # it started again meanwhile
        self._tick(batch_id)   # the batch shows it runs again before this answer
        self._watch(batch_id)
        return resumed
