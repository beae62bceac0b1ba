// Renders a run's live state into the monitor section. Text only: nothing from the server
// is ever inserted as HTML.
import { bytes, clock } from "./format.js";

const ENDED = new Set(["completed", "failed", "cancelled", "interrupted"]);

export class Monitor {
  constructor(root) {
    this.root = root;
    this.progress = 0;
    this.elapsed = 0;
    this.elapsedAt = null;
    this.state = null;
    this.timer = setInterval(() => this.tick(), 1000);
  }

  field(name) {
    return this.root.querySelector(`[data-field="${name}"]`);
  }

  setText(name, text) {
    const node = this.field(name);
    if (node) node.textContent = text ?? "";
  }

  setBar(name, percent) {
    const bar = this.field(name);
    const value = Math.max(0, Math.min(100, percent || 0));
    bar.setAttribute("aria-valuenow", value.toFixed(1));
    bar.querySelector(".fill").style.width = `${value}%`;
  }

  setConnection(status) {
    this.setText("connection", status);
    this.field("connection").dataset.status = status;
  }

  setState(state) {
    this.state = state;
    this.setText("state", state);
    this.root.dataset.state = state;
    this.root.querySelector('[data-action="cancel"]').disabled = ENDED.has(state);
  }

  stageItem(number) {
    return this.root.querySelector(`.stage[data-stage="${number}"]`);
  }

  snapshot(snap) {
    this.root.hidden = false;
    this.setText("title", snap.title || snap.url);
    this.setState(snap.state);
    for (const stage of snap.stages) {
      const item = this.stageItem(stage.stage);
      item.dataset.status = stage.status;
      item.querySelector('[data-role="sub-stage"]').textContent = stage.sub_stage || stage.error || "";
    }
    for (const item of this.root.querySelectorAll(".stage")) {
      if (!snap.selected_stages.includes(Number(item.dataset.stage))) item.dataset.status = "skipped";
    }
    this.updateProgress(snap.progress);
    this.updateTimes(snap.time_elapsed, snap.estimated_remaining);
    if (snap.message) this.setText("message", snap.message);
  }

  updateProgress(percent) {
    this.progress = Math.max(this.progress, percent || 0);
    this.setBar("overall-bar", this.progress);
    this.setText("progress-text", `${this.progress.toFixed(1)}%`);
  }

  updateTimes(elapsed, remaining) {
    if (typeof elapsed === "number") {
      this.elapsed = elapsed;
      this.elapsedAt = Date.now();
    }
    this.setText("elapsed", clock(this.elapsed));
    this.setText("remaining", clock(remaining));
  }

  tick() {
    if (this.elapsedAt === null || ENDED.has(this.state)) return;
    const now = this.elapsed + (Date.now() - this.elapsedAt) / 1000;
    this.setText("elapsed", clock(now));
  }

  event(kind, event) {
    if (kind === "pipeline_progress") this.progressEvent(event);
    else if (kind === "pipeline_transition") this.transition(event);
    else if (kind === "pipeline_error") this.error(event);
    else if (kind === "pipeline_completion") this.completion(event);
    else if (kind === "log_stream") this.log(event);
  }

  progressEvent(event) {
    if (this.state === null || this.state === "queued") this.setState("running");
    if (event.stage) {
      const item = this.stageItem(event.stage);
      if (item.dataset.status !== "failed") item.dataset.status = event.stage_progress >= 100 ? "completed" : "running";
      item.querySelector('[data-role="sub-stage"]').textContent = event.sub_stage || "";
      this.setText("stage-text", `${event.stage_name} · ${event.stage_progress.toFixed(0)}%`);
      this.setBar("stage-bar", event.stage_progress);
    }
    const sub = event.sub_progress;
    if (sub && sub.total) {
      const current = sub.unit === "bytes" ? `${bytes(sub.current)} / ${bytes(sub.total)}` : `${sub.current} / ${sub.total} ${sub.unit}`;
      this.setText("sub-text", `${event.sub_stage}: ${current}`);
      this.setBar("sub-bar", (100 * sub.current) / sub.total);
    } else {
      this.setText("sub-text", event.sub_stage || "—");
      this.setBar("sub-bar", 0);
    }
    this.setText("message", event.message);
    this.updateProgress(event.progress);
    this.updateTimes(event.time_elapsed, event.estimated_remaining);
  }

  transition(event) {
    if (event.from_stage) this.stageItem(event.from_stage).dataset.status = "completed";
    this.stageItem(event.to_stage).dataset.status = "running";
  }

  error(event) {
    const item = this.stageItem(event.stage);
    item.dataset.status = "failed";
    item.querySelector('[data-role="sub-stage"]').textContent = event.error.message;
  }

  completion(event) {
    this.setState(event.status);
    this.setText("message", event.status === "failed" ? `Failed: ${event.error}` : `Run ${event.status}`);
    if (event.status === "completed") this.updateProgress(100);
    const list = this.field("output-list");
    list.replaceChildren();
    for (const output of event.outputs) {
      const li = document.createElement("li");
      li.textContent = `${output.name} (${bytes(output.size)})`;
      list.append(li);
    }
    this.field("outputs").hidden = event.outputs.length === 0;
  }

  log(event) {
    const pre = this.field("log");
    const line = document.createElement("span");
    line.className = `log-line level-${String(event.level).toLowerCase()}`;
    line.textContent = `${event.timestamp.slice(11, 19)} ${event.level.padEnd(7)} ${event.logger}: ${event.message}\n`;
    pre.append(line);
    pre.scrollTop = pre.scrollHeight;
  }
}
