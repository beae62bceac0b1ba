// The list of segments under the waveform: per segment its number, start and end as editable
// times, its length, its problems, its words, and Play and Remove buttons. Rebuilt after each
// change (at most 100 rows) with the keyboard focus kept on the same control.
import { formatLength, formatTime, parseTime } from "./segment-times.js";

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

export class SegmentRows {
  constructor(list, { editable, onEdit, onPlay, onRemove, onFocus }) {
    this.list = list;
    this.editable = editable;
    this.handlers = { onEdit, onPlay, onRemove, onFocus };
    this.rows = new Map();
    this.rendering = false;
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-row-action]");
      const id = button?.closest("[data-segment]")?.dataset.segment;
      if (!id) return;
      if (button.dataset.rowAction === "play") onPlay(id);
      else if (button.dataset.rowAction === "remove") onRemove(id);
    });
    list.addEventListener("change", (event) => this.typed(event.target));
    list.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches("input[data-edge]")) this.typed(event.target);
    });
    list.addEventListener("focusin", (event) => {
      const id = event.target.closest("[data-segment]")?.dataset.segment;
      if (id) onFocus(id);
    });
  }

  typed(input) {
    const id = input.closest("[data-segment]")?.dataset.segment;
    // Removing a focused input during a rebuild fires its "change" again: already taken.
    if (this.rendering || !id || !input.dataset.edge || input.readOnly) return;
    const seconds = parseTime(input.value);
    if (seconds === null) {
      input.setAttribute("aria-invalid", "true");
      this.rows.get(id).typing.textContent = "Type a time such as 1:05.2 or 65.2 (seconds).";
      return;
    }
    input.removeAttribute("aria-invalid");
    this.rows.get(id).typing.textContent = "";
    this.handlers.onEdit(id, input.dataset.edge, seconds);
  }

  timeInput(number, edge, value) {
    const label = element("label", "segment-edge");
    label.append(element("span", "segment-edge-name", edge === "start" ? "Start" : "End"));
    const input = element("input", "segment-time");
    input.type = "text";
    input.inputMode = "decimal";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.maxLength = 16;
    input.dataset.edge = edge;
    input.value = formatTime(value);
    input.readOnly = !this.editable;
    input.setAttribute("aria-label", `${edge === "start" ? "Start" : "End"} of segment ${number}`);
    label.append(input);
    return { label, input };
  }

  row(segment, number, problems, text) {
    const item = element("li", "segment-row");
    item.dataset.segment = segment.id;
    item.append(element("span", "segment-number", String(number)));
    const start = this.timeInput(number, "start", segment.start);
    const end = this.timeInput(number, "end", segment.end);
    const length = element("span", "segment-length", formatLength(segment.end - segment.start));
    length.setAttribute("aria-label", `Length ${formatLength(segment.end - segment.start)}`);
    const buttons = element("span", "segment-buttons");
    const play = element("button", "secondary", "Play");
    play.type = "button";
    play.dataset.rowAction = "play";
    play.setAttribute("aria-label", `Play segment ${number}`);
    buttons.append(play);
    if (this.editable) {
      const remove = element("button", "secondary segment-remove", "Remove");
      remove.type = "button";
      remove.dataset.rowAction = "remove";
      remove.setAttribute("aria-label", `Remove segment ${number}`);
      buttons.append(remove);
    }
    const status = element("div", "segment-problems");
    status.id = `segment-status-${segment.id}`;
    const typing = element("p", "segment-problem segment-typing problem-error");
    status.append(typing);
    for (const problem of problems) status.append(element("p", `segment-problem problem-${problem.level}`, problem.text));
    start.input.setAttribute("aria-describedby", status.id);
    end.input.setAttribute("aria-describedby", status.id);
    item.classList.toggle("has-error", problems.some((p) => p.level === "error"));
    item.classList.toggle("has-warning", problems.some((p) => p.level === "warning"));
    item.append(start.label, end.label, length, buttons, status,
                element("p", "segment-text", text));
    this.rows.set(segment.id, { item, start: start.input, end: end.input, length, typing });
    return item;
  }

  // Rebuild every row; the control that had the focus gets it back.
  render(segments, problems, textOf) {
    const active = document.activeElement;
    const focusedId = active?.closest?.("[data-segment]")?.dataset.segment;
    const focusedPart = active?.dataset?.edge || active?.dataset?.rowAction;
    this.rows.clear();
    const fragment = document.createDocumentFragment();
    segments.forEach((segment, index) => {
      fragment.append(this.row(segment, index + 1, problems[index], textOf(segment)));
    });
    this.rendering = true;
    try {
      this.list.replaceChildren(fragment);
    } finally {
      this.rendering = false;
    }
    if (focusedId && this.rows.has(focusedId)) this.focus(focusedId, focusedPart);
  }

  // Show a segment's times while its region is dragged (no rebuild).
  update(segment) {
    const row = this.rows.get(segment.id);
    if (!row) return;
    row.start.value = formatTime(segment.start);
    row.end.value = formatTime(segment.end);
    row.length.textContent = formatLength(segment.end - segment.start);
  }

  mark(id) {
    for (const [key, row] of this.rows) row.item.classList.toggle("is-focused", key === id);
  }

  focus(id, part = "start") {
    const row = this.rows.get(id);
    if (!row) return;
    const target = part === "end" ? row.end
      : part === "play" || part === "remove" ? row.item.querySelector(`[data-row-action="${part}"]`)
      : row.start;
    (target || row.start).focus();
  }
}
