// The progress bars (overall, stage, sub-stage) and the elapsed/remaining clocks, which
// tick every second between the server's updates.
import { clock, progressCount } from "./format.js";

function clamp(percent) {
  return Math.max(0, Math.min(100, Number(percent) || 0));
}

export class ProgressView {
  constructor(root) {
    this.root = root;
    this.overall = 0;
    this.elapsed = null;     // {value, at}: seconds at a moment (performance.now())
    this.remaining = null;
    this.running = false;
    this.timer = setInterval(() => this.tick(), 1000);
  }

  field(name) {
    return this.root.querySelector(`[data-field="${name}"]`);
  }

  setBar(name, percent) {
    const bar = this.field(name);
    const value = clamp(percent);
    bar.setAttribute("aria-valuenow", value.toFixed(0));
    bar.setAttribute("aria-valuetext", `${value.toFixed(1)}%`);
    bar.querySelector(".fill").style.width = `${value}%`;
  }

  // The overall bar never moves backwards within a run.
  setOverall(percent) {
    this.overall = Math.max(this.overall, clamp(percent));
    this.setBar("overall-bar", this.overall);
    this.field("progress-text").textContent = `${this.overall.toFixed(1)}%`;
    return this.overall;
  }

  setStage(name, percent) {
    this.field("stage-text").textContent = name ? `${name} · ${clamp(percent).toFixed(0)}%` : "—";
    this.setBar("stage-bar", percent);
  }

  setSub(subStage, sub) {
    this.field("sub-label").textContent = subStage || "Sub-stage";
    const known = sub && sub.total;
    this.field("sub-count").textContent = sub ? progressCount(sub) : "";
    this.field("sub-description").textContent = sub && sub.description ? sub.description : "";
    this.setBar("sub-bar", known ? (100 * sub.current) / sub.total : 0);
  }

  setTimes(elapsed, remaining) {
    const now = performance.now();
    if (typeof elapsed === "number") this.elapsed = { value: elapsed, at: now };
    this.remaining = typeof remaining === "number" ? { value: remaining, at: now } : null;
    this.render();
  }

  // Clocks keep ticking only while the run is running.
  setRunning(running) {
    this.running = running;
    this.render();
  }

  finish(completed) {
    this.running = false;
    if (completed) {
      this.setOverall(100);
      this.remaining = { value: 0, at: performance.now() };
    }
    this.render();
  }

  render() {
    const passed = (anchor) => (this.running ? (performance.now() - anchor.at) / 1000 : 0);
    const elapsed = this.elapsed ? this.elapsed.value + passed(this.elapsed) : null;
    const remaining = this.remaining ? Math.max(0, this.remaining.value - passed(this.remaining)) : null;
    this.field("elapsed").textContent = elapsed === null ? "00:00" : clock(elapsed);
    this.field("remaining").textContent = clock(remaining);
  }

  tick() {
    if (this.running) this.render();
  }
}
