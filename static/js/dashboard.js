// The dashboard: starts runs from the form and follows the selected run live.
import { RunConnection } from "./live-client.js";
import { Monitor } from "./monitor.js";

const monitorRoot = document.getElementById("monitor");
let connection = null;

function follow(sessionId) {
  const monitor = new Monitor(monitorRoot);
  monitorRoot.hidden = false;
  monitorRoot.dataset.sessionId = sessionId;
  connection = new RunConnection(sessionId, {
    onEvent: (kind, event) => monitor.event(kind, event),
    onSnapshot: (snapshot) => monitor.snapshot(snapshot),
    onStatus: (status) => monitor.setConnection(status),
  });
  connection.start();
  const cancelButton = monitorRoot.querySelector('[data-action="cancel"]');
  cancelButton.addEventListener("click", () => {
    cancelButton.disabled = true;
    cancelButton.textContent = "Cancelling…";
    connection.cancel();
  });
}

const form = document.getElementById("run-form");
form.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const errorNode = form.querySelector('[data-field="form-error"]');
  errorNode.textContent = "";
  const data = new FormData(form);
  const body = {
    youtube_url: data.get("youtube_url"),
    selected_stages: data.getAll("selected_stages").map(Number),
    episode_directory: data.get("episode_directory") || null,
    preset: data.get("preset"),
  };
  const response = await fetch(form.action, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    errorNode.textContent = answer.error.message;
    return;
  }
  window.history.replaceState(null, "", `/?session=${encodeURIComponent(answer.session_id)}`);
  if (connection) window.location.reload();
  else follow(answer.session_id);
});

if (monitorRoot.dataset.sessionId) follow(monitorRoot.dataset.sessionId);
