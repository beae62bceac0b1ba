// The seven stage indicators: each one's status (icon and colour come from CSS), its
// sub-stage or error underneath, and a spoken status for screen readers.

const STATUS_TEXT = {
  pending: "waiting",
  running: "running",
  completed: "done",
  reused: "done, earlier outputs reused",
  failed: "failed",
  cancelled: "cancelled",
  skipped: "not selected",
};
// A stage that ended this way keeps its status whatever later progress events say.
const FINAL = new Set(["failed", "cancelled", "reused", "skipped"]);

export class StageList {
  constructor(root) {
    this.items = new Map();
    for (const item of root.querySelectorAll(".stage[data-stage]")) {
      this.items.set(Number(item.dataset.stage), item);
    }
  }

  // Stages that are not part of the run are shown dimmed.
  select(numbers) {
    for (const [number, item] of this.items) {
      if (!numbers.includes(number)) this.set(number, "skipped", "");
      else if (item.dataset.status === "skipped") this.set(number, "pending", "");
    }
  }

  status(number) {
    const item = this.items.get(number);
    return item ? item.dataset.status : null;
  }

  set(number, status, detail) {
    const item = this.items.get(number);
    if (!item) return;
    item.dataset.status = status;
    item.querySelector('[data-role="status-text"]').textContent = `, ${STATUS_TEXT[status] || status}`;
    if (status === "running") item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    if (detail !== undefined) {
      const sub = item.querySelector('[data-role="sub-stage"]');
      sub.textContent = detail ?? "";
      sub.title = status === "failed" ? detail ?? "" : "";  // the whole error, when clipped
    }
  }

  // Progress of a stage from a live event: running below 100 %, done at 100 %.
  progress(number, percent, subStage) {
    const current = this.status(number);
    if (current === null || FINAL.has(current)) return;
    if (percent >= 100) this.set(number, "completed", "");
    else this.set(number, "running", subStage || "");
  }

  // A transition: the stage left behind is done (unless it ended otherwise), the next starts.
  transition(from, to) {
    if (from && !FINAL.has(this.status(from))) this.set(from, "completed", "");
    this.set(to, "running", "");
  }

  fail(number, message) {
    this.set(number, "failed", message);
  }

  // The run ended: a stage still marked running ended the same way as the run.
  end(runStatus) {
    for (const [number, item] of this.items) {
      if (item.dataset.status !== "running") continue;
      if (runStatus === "cancelled") this.set(number, "cancelled", "Cancelled");
      else if (runStatus === "failed") this.set(number, "failed");
      else this.set(number, "completed", "");
    }
  }
}
