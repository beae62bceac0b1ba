// Renders one run's live state: stages, bars, clocks, state, cancel button, outputs, log,
// and once the run has ended, its summary, chapters and key terms.
// Text only: nothing from the server is ever inserted as HTML.
import { bytes, clock, fileUrl, stateLabel } from "./format.js";
import { LogPanel } from "./log-panel.js";
import { ProgressView } from "./progress-view.js";
import { RunAlerts } from "./run-alerts.js";
import { StageList } from "./stage-list.js";

const ENDED = new Set(["completed", "failed", "cancelled", "interrupted"]);
const SUMMARY_FILE = "summary.json";

export class Monitor {
  constructor(root, sessionId) {
    this.root = root;
    this.sessionId = sessionId;
    this.state = null;
    this.title = "";
    this.url = "";
    this.cancelling = false;
    this.openedSeq = null;   // the newest event when the page first saw the run
    this.shownSeq = 0;       // the newest event the page shows
    this.insightsAsked = false;
    this.stages = new StageList(root);
    this.progress = new ProgressView(root);
    this.log = new LogPanel(root);
    this.alerts = new RunAlerts(root);
    this.cancelButton = root.querySelector('[data-action="cancel"]');
    this.field("details-link").href = `/runs/${encodeURIComponent(sessionId)}`;
    this.field("insights-link").href = `/runs/${encodeURIComponent(sessionId)}#insights`;
    this.field("review-link").href = `/runs/${encodeURIComponent(sessionId)}/segments`;
  }

  field(name) {
    return this.root.querySelector(`[data-field="${name}"]`);
  }

  setText(name, text) {
    this.field(name).textContent = text ?? "";
  }

  setConnection(status) {
    const badge = this.field("connection");
    badge.textContent = status;
    badge.dataset.status = status.replace("…", "").toLowerCase();
  }

  // Until the media's title is known the heading shows the URL (and the URL line stays empty).
  setTitle(title, url) {
    if (title) this.title = title;
    if (url) this.url = url;
    this.setText("title", this.title || this.url || "Run");
    this.setText("url", this.title ? this.url : "");
    this.updateDocumentTitle();
  }

  updateDocumentTitle() {
    const name = this.title || "Run";
    const prefix = ENDED.has(this.state) ? stateLabel(this.state) : `${Math.floor(this.progress.overall)}%`;
    document.title = `${prefix} · ${name} · YouTube Pipeline`;
  }

  setState(state) {
    this.state = state;
    const pill = this.field("state");
    pill.textContent = this.cancelling && !ENDED.has(state) ? "Cancelling…" : stateLabel(state);
    pill.dataset.state = state;
    this.root.dataset.state = state;
    const ended = ENDED.has(state);
    this.cancelButton.disabled = ended || this.cancelling;
    if (ended) this.cancelButton.textContent = state === "cancelled" ? "Cancelled" : "Cancel";
    this.progress.setRunning(state === "running");
    this.field("review").hidden = state !== "awaiting_selection";
    this.updateDocumentTitle();
  }

  // The button answers at once; the final "Cancelled" comes from the run's completion.
  cancelRequested() {
    this.cancelling = true;
    this.cancelButton.disabled = true;
    this.cancelButton.textContent = "Cancelling…";
    this.setText("state", "Cancelling…");
  }

  cancelFailed(message) {
    this.cancelling = false;
    this.cancelButton.textContent = "Cancel";
    this.setState(this.state);
    this.setText("message", message);
  }

  // The server could not follow this run (an unknown id, for one).
  problem(message) {
    this.setText("message", message);
    this.cancelButton.disabled = true;
  }

  snapshot(snap) {
    this.shownSeq = Math.max(this.shownSeq, snap.last_seq);
    if (this.openedSeq === null) this.openedSeq = snap.last_seq;
    this.setTitle(snap.title, snap.url);
    this.stages.select(snap.selected_stages);
    for (const stage of snap.stages) {
      this.stages.set(stage.stage, stage.status, stage.error || stage.sub_stage || "");
      if (stage.status === "running") {
        this.progress.setStage(stage.name, stage.progress);
        this.progress.setSub(stage.sub_stage, stage.sub_progress);
      }
    }
    if (snap.state === "queued") {
      const place = snap.queue_position ? ` (position ${snap.queue_position} in the queue)` : "";
      const reason = snap.queue_reason || "waiting for a free slot";
      this.setText("message", `${reason[0].toUpperCase()}${reason.slice(1)}${place}`);
    } else if (snap.error) {
      this.setText("message", `Failed: ${snap.error}`);
    } else if (snap.message || ENDED.has(snap.state)) {
      this.setText("message", snap.message || `Run ${snap.state}`);
    }
    this.progress.setOverall(snap.progress);
    this.progress.setTimes(snap.time_elapsed, snap.estimated_remaining);
    this.setState(snap.state);
    if (ENDED.has(snap.state)) this.progress.finish(snap.state === "completed");
  }

  // A replayed event (seq <= the snapshot's) is already reflected in the snapshot: only its
  // log line and, for a completion, the outputs are new to the page.
  event(kind, event) {
    const replay = event.seq <= this.shownSeq;
    this.shownSeq = Math.max(this.shownSeq, event.seq);
    if (kind === "log_stream") this.log.add(event);
    else if (kind === "pipeline_completion") this.completion(event, replay);
    else if (replay) return;
    else if (kind === "pipeline_progress") this.progressEvent(event);
    else if (kind === "pipeline_transition") this.stages.transition(event.from_stage, event.to_stage);
    else if (kind === "pipeline_error") this.stages.fail(event.stage, event.error.message);
  }

  progressEvent(event) {
    if (event.status === "awaiting_selection") {
      this.setState("awaiting_selection");
      this.alerts.runEnded("awaiting_selection", this.title, this.sessionId);
    } else if (this.state === null || this.state === "queued" || this.state === "awaiting_selection") {
      this.setState("running");
    }
    if (event.stage) {
      this.stages.progress(event.stage, event.stage_progress, event.sub_stage);
      this.progress.setStage(event.stage_name, event.stage_progress);
    }
    this.progress.setSub(event.sub_stage, event.sub_progress);
    if (event.message) this.setText("message", event.message);
    this.progress.setOverall(event.progress);
    this.progress.setTimes(event.time_elapsed, event.estimated_remaining);
    if (event.title && event.title !== this.title) this.setTitle(event.title);
    else this.updateDocumentTitle();
  }

  completion(event, replay) {
    this.showOutputs(event.outputs || []);
    if ((event.outputs || []).some((output) => output.name === SUMMARY_FILE)) this.loadInsights();
    if (replay) return;
    const fresh = this.openedSeq !== null && event.seq > this.openedSeq;
    this.stages.end(event.status);
    this.setState(event.status);
    this.progress.setTimes(event.duration, null);
    this.progress.finish(event.status === "completed");
    this.progress.setSub(null, null);
    this.setText("message", event.status === "failed" ? `Failed: ${event.error}` : `Run ${event.status}`);
    if (fresh) this.alerts.runEnded(event.status, this.title, this.sessionId);
  }

  showOutputs(outputs) {
    const list = this.field("output-list");
    list.replaceChildren();
    for (const output of outputs) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = fileUrl(this.sessionId, output.name);
      link.textContent = output.name;
      const size = document.createElement("span");
      size.className = "hint";
      size.textContent = ` ${bytes(output.size)}`;
      item.append(link, size);
      list.append(item);
    }
    this.field("outputs").hidden = outputs.length === 0;
  }

  // Asked once per page; a page that cannot get them simply shows none.
  async loadInsights() {
    if (this.insightsAsked) return;
    this.insightsAsked = true;
    let insights;
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(this.sessionId)}/insights`, {
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      insights = await response.json();
    } catch (error) {
      return;
    }
    this.showInsights(insights);
  }

  showInsights({ summary = "", chapters = [], keywords = [] }) {
    this.setText("insights-summary", summary);
    this.field("insights-summary").hidden = !summary;
    const chapterList = this.field("insights-chapters");
    chapterList.replaceChildren(...chapters.map((chapter) => {
      const item = document.createElement("li");
      const time = document.createElement("span");
      time.className = "chapter-time";
      time.textContent = clock(chapter.start);
      const title = document.createElement("strong");
      title.textContent = ` ${chapter.title}`;
      item.append(time, title);
      if (chapter.summary) {
        const text = document.createElement("p");
        text.className = "chapter-summary";
        text.textContent = chapter.summary;
        item.append(text);
      }
      return item;
    }));
    this.field("insights-chapters-part").hidden = chapters.length === 0;
    const keywordList = this.field("insights-keywords");
    keywordList.replaceChildren(...keywords.map((keyword) => {
      const item = document.createElement("li");
      item.className = "keyword";
      item.textContent = keyword;
      return item;
    }));
    this.field("insights-keywords-part").hidden = keywords.length === 0;
    this.field("insights").hidden = !summary && chapters.length === 0 && keywords.length === 0;
  }
}
