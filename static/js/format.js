// Small formatting helpers shared by the pages.

export function clock(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "--:--";
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const mm = String(minutes).padStart(2, "0");
  const ss = String(secs).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function bytes(count) {
  let value = Number(count) || 0;
  for (const unit of ["B", "KiB", "MiB", "GiB"]) {
    if (value < 1024 || unit === "GiB") return unit === "B" ? `${value} B` : `${value.toFixed(1)} ${unit}`;
    value /= 1024;
  }
  return `${value.toFixed(1)} GiB`;
}

// One amount in its unit: bytes as KiB/MiB, seconds as a clock, anything else as counted.
function amount(value, unit) {
  if (unit === "bytes") return bytes(value);
  if (unit === "s") return clock(value);
  return String(Math.round(Number(value) || 0));
}

// "current/total" of a sub-progress, e.g. "1.2 MiB/3.4 MiB", "00:12/00:23", "3/12 clips".
export function progressCount(sub) {
  if (!sub) return "";
  const current = amount(sub.current, sub.unit);
  const suffix = sub.unit && sub.unit !== "bytes" && sub.unit !== "s" ? ` ${sub.unit}` : "";
  if (sub.total === null || sub.total === undefined) return `${current}${suffix}`;
  return `${current}/${amount(sub.total, sub.unit)}${suffix}`;
}

const STATE_LABELS = {
  queued: "Queued",
  running: "Running",
  awaiting_selection: "Awaiting selection",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  interrupted: "Interrupted",
};

export function stateLabel(state) {
  return STATE_LABELS[state] || String(state || "—");
}

// The URL of a file in a run's episode folder; each path part is encoded.
export function fileUrl(sessionId, name) {
  const path = String(name).split("/").map(encodeURIComponent).join("/");
  return `/runs/${encodeURIComponent(sessionId)}/files/${path}`;
}
