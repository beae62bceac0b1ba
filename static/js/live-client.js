// Follows one run: Socket.IO with replay from the last seq seen, or HTTP polling when the
// socket cannot connect. Every event reaches `onEvent` once, in seq order.
import { io } from "./vendor/socket.io-4.8.4.esm.min.js";

export const RUN_EVENTS = [
  "pipeline_progress", "pipeline_update", "pipeline_transition",
  "pipeline_error", "pipeline_completion", "log_stream",
];
const POLL_MS = 2000;

export class RunConnection {
  constructor(sessionId, { onEvent, onSnapshot, onStatus }) {
    this.sessionId = sessionId;
    this.lastSeq = 0;
    this.onEvent = onEvent;
    this.onSnapshot = onSnapshot;
    this.onStatus = onStatus;
    this.pollTimer = null;
    this.finished = false;
  }

  start() {
    this.socket = io({ transports: ["websocket", "polling"], reconnectionDelayMax: 10000 });
    this.socket.on("connect", () => {
      this.stopPolling();
      this.onStatus("Connected");
      this.socket.emit("subscribe", { session_id: this.sessionId, last_seq: this.lastSeq });
    });
    this.socket.on("disconnect", () => this.onStatus("Reconnecting…"));
    this.socket.io.on("reconnect_attempt", () => this.onStatus("Reconnecting…"));
    this.socket.on("connect_error", () => {
      this.onStatus("Polling");
      this.startPolling();
    });
    this.socket.on("pipeline_snapshot", (snapshot) => this.onSnapshot(snapshot));
    for (const kind of RUN_EVENTS) {
      this.socket.on(kind, (event) => this.accept(kind, event));
    }
  }

  accept(kind, event) {
    if (event.session_id !== this.sessionId || event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    if (kind === "pipeline_completion") this.finished = true;
    this.onEvent(kind, event);
  }

  cancel() {
    if (this.socket && this.socket.connected) {
      this.socket.emit("cancel", { session_id: this.sessionId });
      return Promise.resolve();
    }
    return fetch(`/api/pipeline/cancel/${encodeURIComponent(this.sessionId)}`, { method: "POST" });
  }

  startPolling() {
    if (this.pollTimer) return;
    const poll = async () => {
      try {
        const url = `/api/pipeline/events/${encodeURIComponent(this.sessionId)}?since=${this.lastSeq}`;
        const response = await fetch(url);
        if (response.ok) {
          const body = await response.json();
          for (const item of body.events) this.accept(item.event, item.data);
        }
      } catch (error) {
        // the server is unreachable; the next poll tries again
      }
      this.pollTimer = this.finished ? null : setTimeout(poll, POLL_MS);
    };
    this.pollTimer = setTimeout(poll, 0);
  }

  stopPolling() {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }
}
