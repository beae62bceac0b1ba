// Follows one run (or one batch): Socket.IO with replay from the last seq seen, or HTTP polling
// while the socket cannot connect. Every event reaches `onEvent` once, in seq order: an event
// seen twice is dropped, one that comes early waits for those before it, and a gap that lasts
// is filled from the stored events (with runs on workers, live events and the replay can cross).
import { csrfHeaders } from "./csrf.js";
import { io } from "./vendor/socket.io-4.8.4.esm.min.js";

export const RUN_EVENTS = [
  "pipeline_progress", "pipeline_update", "pipeline_transition",
  "pipeline_error", "pipeline_completion", "log_stream",
];
// What is followed: a run's events, or a batch's (which have their own seq).
export const RUN_CHANNEL = {
  idKey: "session_id",
  subscribe: "subscribe",
  snapshot: "pipeline_snapshot",
  events: RUN_EVENTS,
  repeated: "pipeline_update", // repeats the pipeline_progress before it
  completion: "pipeline_completion",
  eventsPath: (id) => `/api/pipeline/events/${id}`,
  statusPath: (id) => `/api/pipeline/status/${id}`,
};
export const BATCH_CHANNEL = {
  idKey: "batch_id",
  subscribe: "subscribe_batch",
  snapshot: "batch_snapshot",
  events: ["batch_progress", "batch_entry", "batch_completion"],
  repeated: null,
  completion: null, // a batch can run again (Retry failed): polling goes on
  eventsPath: (id) => `/api/batches/${id}/events`,
  statusPath: (id) => `/api/batches/${id}`,
};
const POLL_MS = 2000;
const GAP_MS = 300;

export class RunConnection {
  constructor(sessionId, { onEvent, onSnapshot, onStatus, onCancelResult, onProblem },
    channel = RUN_CHANNEL) {
    this.channel = channel;
    this.sessionId = sessionId;
    this.lastSeq = 0;
    this.onEvent = onEvent;
    this.onSnapshot = onSnapshot;
    this.onStatus = onStatus;
    this.onCancelResult = onCancelResult;
    this.onProblem = onProblem;
    this.polling = false;
    this.pollTimer = null;
    this.hadSnapshot = false;
    this.finished = false;
    this.early = new Map();
    this.gapTimer = null;
  }

  get path() {
    return encodeURIComponent(this.sessionId);
  }

  start() {
    // WebSocket first; when it is refused, long-polling; the client retries with backoff.
    this.socket = io({
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
    });
    this.socket.on("connect", () => {
      this.stopPolling();
      this.onStatus("Connected");
      this.socket.emit(this.channel.subscribe, {
        [this.channel.idKey]: this.sessionId, last_seq: this.lastSeq,
      });
    });
    this.socket.on("disconnect", (reason) => {
      if (!this.polling) this.onStatus("Reconnecting…");
      // The server closed the connection on purpose: the client does not retry by itself.
      if (reason === "io server disconnect") this.socket.connect();
    });
    this.socket.io.on("reconnect_attempt", () => {
      if (!this.polling) this.onStatus("Reconnecting…");
    });
    this.socket.on("connect_error", () => this.startPolling());
    this.socket.on(this.channel.snapshot, (snapshot) => this.snapshot(snapshot));
    this.socket.on("cancel_result", (answer) => {
      if (answer.session_id === this.sessionId) this.onCancelResult(answer.status);
    });
    this.socket.on("request_error", (answer) => {
      if (answer[this.channel.idKey] === this.sessionId) this.onProblem(answer.error.message);
    });
    for (const kind of this.channel.events) {
      this.socket.on(kind, (event) => this.accept(kind, event));
    }
  }

  // A snapshot older than the events already shown (possible after polling) is skipped.
  snapshot(snapshot) {
    if (snapshot[this.channel.idKey] !== this.sessionId || snapshot.last_seq < this.lastSeq) return;
    this.hadSnapshot = true;
    this.onSnapshot(snapshot);
  }

  accept(kind, event) {
    if (event[this.channel.idKey] !== this.sessionId || !Number.isInteger(event.seq)) return;
    if (event.seq <= this.lastSeq) return;
    if (event.seq > this.lastSeq + 1) {
      this.early.set(event.seq, [kind, event]);
      this.watchGap();
      return;
    }
    this.deliver(kind, event);
    while (this.early.has(this.lastSeq + 1)) {
      const [nextKind, next] = this.early.get(this.lastSeq + 1);
      this.early.delete(this.lastSeq + 1);
      this.deliver(nextKind, next);
    }
    for (const seq of this.early.keys()) if (seq <= this.lastSeq) this.early.delete(seq);
  }

  deliver(kind, event) {
    // pipeline_update repeats the pipeline_progress before it: count it, show it once.
    this.lastSeq = event.seq;
    if (kind === this.channel.completion) this.finished = true;
    if (kind !== this.channel.repeated) this.onEvent(kind, event);
  }

  // Events after a missing one wait; if the gap is still there after GAP_MS, the stored
  // events fill it.
  watchGap() {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => this.fillGap(), GAP_MS);
  }

  async fillGap() {
    this.gapTimer = null;
    if (this.early.size === 0) return;
    try {
      const response = await fetch(`${this.channel.eventsPath(this.path)}?since=${this.lastSeq}`);
      if (response.ok) {
        const body = await response.json();
        for (const item of body.events) this.accept(item.event, item.data);
      }
    } catch (error) {
      // the server is unreachable: try again below
    }
    if (this.early.size > 0) this.watchGap();
  }

  // Resolves to the cancel status ("cancelling", "cancelled", "not_running"), or throws.
  async cancel() {
    if (this.socket && this.socket.connected) {
      this.socket.emit("cancel", { session_id: this.sessionId });
      return "cancelling";
    }
    const response = await fetch(`/api/pipeline/cancel/${this.path}`, {
      method: "POST",
      headers: csrfHeaders({ Accept: "application/json" }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error ? answer.error.message : "Cancel failed");
    this.onCancelResult(answer.status);
    return answer.status;
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.onStatus("Polling");
    const poll = async () => {
      try {
        if (!this.hadSnapshot) await this.fetchSnapshot();
        const response = await fetch(`${this.channel.eventsPath(this.path)}?since=${this.lastSeq}`);
        if (response.ok) {
          const body = await response.json();
          for (const item of body.events) this.accept(item.event, item.data);
        } else if (response.status === 404) {
          this.onProblem("There is no such run or batch.");
          this.finished = true;
        }
      } catch (error) {
        // the server is unreachable; the next poll tries again
      }
      if (this.polling && !this.finished) this.pollTimer = setTimeout(poll, POLL_MS);
    };
    this.pollTimer = setTimeout(poll, 0);
  }

  async fetchSnapshot() {
    const response = await fetch(this.channel.statusPath(this.path));
    if (response.ok) this.snapshot(await response.json());
  }

  stopPolling() {
    this.polling = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }
}
