// The batch page: every entry's state, stage and percentage, and the batch's own progress and
// times, kept current from the batch's events (with replay from the last seq seen on reconnect).
import { BATCH_CHANNEL, RunConnection } from "./live-client.js";
import { csrfHeaders } from "./csrf.js";
import { clock } from "./format.js";

const FINAL = ["completed", "completed_with_errors", "cancelled"];
const root = document.getElementById("batch");
const batchId = root.dataset.batchId;
const field = (name, within = root) => within.querySelector(`[data-field="${name}"]`);
const cancelButton = root.querySelector('[data-action="cancel-all"]');
const retryButton = root.querySelector('[data-action="retry"]');
let ticking = null;

function label(state) {
  return String(state || "—").replaceAll("_", " ");
}

function setBar(bar, percent) {
  const value = Math.min(Math.max(Number(percent) || 0, 0), 100);
  bar.setAttribute("aria-valuenow", String(Math.round(value)));
  bar.querySelector(".fill").style.width = `${value}%`;
}

function setState(state) {
  root.dataset.state = state;
  const pill = field("state");
  pill.dataset.state = state;
  pill.textContent = label(state);
  const finished = FINAL.includes(state);
  cancelButton.disabled = finished;
  retryButton.disabled = !finished || state === "completed";
}

function showCounts(counts) {
  const parts = Object.entries(counts || {}).map(([state, count]) => `${count} ${label(state)}`);
  field("counts").textContent = parts.join(" · ");
}

// The elapsed clock runs on between events while the batch runs.
function showTimes(elapsed, remaining, state) {
  field("elapsed").textContent = clock(elapsed);
  field("remaining").textContent = clock(remaining);
  if (ticking) clearInterval(ticking);
  ticking = null;
  if (FINAL.includes(state) || elapsed === null || elapsed === undefined) return;
  const since = Date.now();
  ticking = setInterval(() => {
    field("elapsed").textContent = clock(elapsed + (Date.now() - since) / 1000);
  }, 1000);
}

function showSummary(summary) {
  setState(summary.state);
  showCounts(summary.counts);
  setBar(field("overall-bar"), summary.progress);
  field("progress-text").textContent = `${Number(summary.progress).toFixed(1)}%`;
  showTimes(summary.time_elapsed, summary.estimated_remaining, summary.state);
}

function row(position) {
  return root.querySelector(`.batch-entry[data-position="${position}"]`);
}

function showEntry(entry) {
  const line = row(entry.position);
  if (!line) return;
  line.dataset.state = entry.state;
  line.dataset.sessionId = entry.session_id;
  const title = field("entry-title", line);
  title.textContent = entry.title || entry.url;
  title.href = entry.run_url;
  field("entry-monitor", line).href = entry.monitor_url;
  const pill = field("entry-state", line);
  pill.dataset.state = entry.state;
  pill.textContent = label(entry.state);
  let stage = entry.stage_name ? `${entry.stage}. ${entry.stage_name}` : "—";
  if (entry.state === "running" && entry.sub_stage) stage += ` · ${entry.sub_stage}`;
  field("entry-stage", line).textContent = stage;
  setBar(field("entry-bar", line), entry.progress);
  field("entry-percent", line).textContent = `${Number(entry.progress || 0).toFixed(1)}%`;
  field("entry-error", line).textContent = entry.error || "";
}

function snapshot(batch) {
  field("title").textContent = batch.title || "Batch";
  for (const entry of batch.entries) showEntry(entry);
  showSummary(batch);
}

function onEvent(kind, event) {
  if (kind === "batch_entry") showEntry(event);
  else if (kind === "batch_progress" || kind === "batch_completion") {
    showSummary({ time_elapsed: event.duration, estimated_remaining: 0, ...event });
  }
}

function status(text) {
  const badge = field("connection");
  badge.textContent = text;
  badge.dataset.status = text.toLowerCase().replace(/[^a-z]/g, "");
}

const connection = new RunConnection(batchId, {
  onEvent,
  onSnapshot: snapshot,
  onStatus: status,
  onCancelResult: () => {},
  onProblem: (message) => { field("problem").textContent = message; },
}, BATCH_CHANNEL);
// The page was rendered from the snapshot at this seq: only what came after it is replayed.
connection.lastSeq = Number(root.dataset.lastSeq) || 0;
connection.start();

// The buttons post JSON (no page load); without JavaScript their forms post and come back here.
async function act(button, path) {
  button.disabled = true;
  field("problem").textContent = "";
  try {
    const response = await fetch(path, { method: "POST", headers: csrfHeaders({ Accept: "application/json" }) });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error ? answer.error.message : response.statusText);
  } catch (error) {
    field("problem").textContent = `That did not work: ${error.message}`;
    button.disabled = false;
  }
}

const path = encodeURIComponent(batchId);
cancelButton.form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  act(cancelButton, `/api/batches/${path}/cancel`);
});
retryButton.form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  act(retryButton, `/api/batches/${path}/retry`);
});
