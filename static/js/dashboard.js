// The dashboard: starts runs from the form and follows the selected run live.
import { csrfHeaders } from "./csrf.js";
import { RunConnection } from "./live-client.js";
import { Monitor } from "./monitor.js";

const monitorRoot = document.getElementById("monitor");
const form = document.getElementById("run-form");
let following = null;

function follow(sessionId) {
  monitorRoot.hidden = false;
  monitorRoot.dataset.sessionId = sessionId;
  const monitor = new Monitor(monitorRoot, sessionId);
  const connection = new RunConnection(sessionId, {
    onEvent: (kind, event) => monitor.event(kind, event),
    onSnapshot: (snapshot) => monitor.snapshot(snapshot),
    onStatus: (status) => monitor.setConnection(status),
    onProblem: (message) => monitor.problem(message),
    onCancelResult: (status) => {
      if (status === "not_running") monitor.cancelFailed("The run had already ended.");
    },
  });
  connection.start();
  monitor.cancelButton.addEventListener("click", async () => {
    monitor.cancelRequested();
    try {
      await connection.cancel();
    } catch (error) {
      monitor.cancelFailed(`Could not cancel: ${error.message}`);
    }
  });
  following = sessionId;
}

function formBody(data) {
  const options = {};
  for (const input of form.querySelectorAll("[data-override]")) {
    if (input.value !== "") options[input.dataset.override] = input.value;
  }
  const body = {
    youtube_url: data.get("youtube_url"),
    selected_stages: data.getAll("selected_stages").map(Number),
    episode_directory: data.get("episode_directory") || null,
    preset: data.get("preset"),
    options,
  };
  // A batch: a playlist to expand, several URLs, item ranges.
  if (data.get("source")) body.source = data.get("source");
  if ((data.get("urls") || "").trim()) body.urls = data.get("urls");
  if ((data.get("playlist_items") || "").trim()) body.playlist_items = data.get("playlist_items");
  return body;
}

// A chosen URL list file goes up as the form itself (multipart); anything else as JSON.
function request(data) {
  const file = data.get("url_file");
  if (file && file.name) {
    return { method: "POST", headers: csrfHeaders({ Accept: "application/json" }), body: data };
  }
  return {
    method: "POST",
    headers: csrfHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify(formBody(data)),
  };
}

// Picking a preset ticks its stages; they can still be changed for this run.
const presetSelect = form.querySelector("#preset");
presetSelect.addEventListener("change", () => {
  const chosen = presetSelect.selectedOptions[0];
  if (!chosen || !chosen.dataset.stages) return;
  const stages = new Set(chosen.dataset.stages.split(","));
  for (const box of form.querySelectorAll('input[name="selected_stages"]')) {
    if (!box.disabled) box.checked = stages.has(box.value);
  }
});

form.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const errorNode = form.querySelector('[data-field="form-error"]');
  const button = form.querySelector('button[type="submit"]');
  errorNode.textContent = "";
  button.disabled = true;
  let response;
  let answer;
  try {
    response = await fetch(form.action, request(new FormData(form)));
    answer = await response.json();
  } catch (error) {
    errorNode.textContent = "The server could not be reached; try again.";
    button.disabled = false;
    return;
  }
  button.disabled = false;
  if (!response.ok) {
    errorNode.textContent = answer.error.message;
    const name = (answer.error.field || "").replace(/^options\./, "opt_");
    const field = name && form.elements.namedItem(name);
    if (field && field.closest) field.closest("details")?.setAttribute("open", "");
    if (field && typeof field.focus === "function") field.focus();
    return;
  }
  if (answer.batch_id) {
    window.location.assign(`/batches/${encodeURIComponent(answer.batch_id)}`);
    return;
  }
  const address = `/?session=${encodeURIComponent(answer.session_id)}`;
  // A page already following a run starts afresh for the new one.
  if (following) {
    window.location.assign(address);
    return;
  }
  window.history.replaceState(null, "", address);
  follow(answer.session_id);
  monitorRoot.scrollIntoView({ behavior: "smooth", block: "start" });
});

if (monitorRoot.dataset.sessionId) follow(monitorRoot.dataset.sessionId);
