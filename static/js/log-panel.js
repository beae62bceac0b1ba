// The run's log: coloured lines by level, a level filter, follow-the-end that stops when the
// reader scrolls up, a cap on the lines kept on the page, and a copy button.

export const MAX_DOM_LINES = 2000;
const MAX_KEPT_TEXT = 50000;
const LEVELS = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

function levelOf(value) {
  const name = String(value || "info").toLowerCase();
  return name in LEVELS ? name : "info";
}

export class LogPanel {
  constructor(root, maxLines = MAX_DOM_LINES) {
    this.box = root.querySelector('[data-field="log"]');
    this.note = root.querySelector('[data-field="log-hidden"]');
    this.levelSelect = root.querySelector('[data-action="log-level"]');
    this.follow = root.querySelector('[data-action="autoscroll"]');
    this.copyStatus = root.querySelector('[data-field="copy-status"]');
    this.maxLines = maxLines;
    this.lines = [];       // {level, text} of every line received (up to MAX_KEPT_TEXT)
    this.removed = 0;      // lines taken off the page to respect maxLines
    this.scrollPending = false;
    this.autoTop = 0;      // where the last automatic scroll left the view

    this.box.dataset.minLevel = this.levelSelect.value;
    this.levelSelect.addEventListener("change", () => {
      this.box.dataset.minLevel = this.levelSelect.value;
      this.scrollToEnd();
    });
    this.follow.addEventListener("change", () => this.scrollToEnd());
    this.box.addEventListener("scroll", () => this.onScroll());
    root.querySelector('[data-action="copy-log"]').addEventListener("click", () => this.copy());
  }

  add(event) {
    const level = levelOf(event.level);
    const time = String(event.timestamp || "").slice(11, 19);
    const logger = String(event.logger || "");
    const message = String(event.message ?? "");
    const line = document.createElement("div");
    line.className = "log-line";
    line.dataset.level = level;
    for (const [cls, text] of [["log-time", time], ["log-level", level.toUpperCase()],
      ["log-logger", logger], ["log-message", message]]) {
      const part = document.createElement("span");
      part.className = cls;
      part.textContent = text;
      line.append(part, cls === "log-message" ? "" : " ");
    }
    this.box.append(line);
    this.lines.push({ level, text: `${time} ${level.toUpperCase().padEnd(8)} ${logger}: ${message}` });
    if (this.lines.length > MAX_KEPT_TEXT) this.lines.shift();
    while (this.box.childElementCount > this.maxLines) {
      this.box.firstElementChild.remove();
      this.removed += 1;
    }
    this.updateNote();
    this.scrollToEnd();
  }

  updateNote() {
    this.note.hidden = this.removed === 0;
    this.note.textContent = `${this.removed} older line${this.removed === 1 ? "" : "s"} hidden ` +
      `(the page keeps the last ${this.maxLines}; Copy log copies them all).`;
  }

  // Scrolls once per frame at most, so a replay of thousands of lines stays fast.
  scrollToEnd() {
    if (!this.follow.checked || this.scrollPending) return;
    this.scrollPending = true;
    requestAnimationFrame(() => {
      this.scrollPending = false;
      if (!this.follow.checked) return;
      this.box.scrollTop = this.box.scrollHeight;
      this.autoTop = this.box.scrollTop;
    });
  }

  // The reader scrolled up from where following put the view: stop following; back at the
  // end: follow again. (Lines added after an automatic scroll are not the reader's doing.)
  onScroll() {
    const top = this.box.scrollTop;
    const atEnd = this.box.scrollHeight - top - this.box.clientHeight < 8;
    if (atEnd) {
      if (!this.follow.checked) this.follow.checked = true;
    } else if (this.follow.checked && top < this.autoTop - 2) {
      this.follow.checked = false;
    }
  }

  visibleText() {
    const minimum = LEVELS[this.box.dataset.minLevel] || 0;
    return this.lines.filter((line) => LEVELS[line.level] >= minimum).map((line) => line.text);
  }

  async copy() {
    const lines = this.visibleText();
    const text = lines.join("\n");
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      if (!this.copyWithSelection(text)) {
        this.copyStatus.textContent = "Copying is not allowed here; select the lines instead.";
        return;
      }
    }
    this.copyStatus.textContent = `Copied ${lines.length} line${lines.length === 1 ? "" : "s"}.`;
  }

  // For browsers without the asynchronous clipboard (plain http on another host).
  copyWithSelection(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    return copied;
  }
}
