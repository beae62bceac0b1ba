// The segment page's transcript: sentences under their chapter headings, a range of them chosen by
// click and shift-click (or Enter and Shift+Enter), the sentences inside segments marked. A
// listbox with one tab stop; every text is set with textContent.
import { formatTime } from "./segment-times.js";

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

// Sentences grouped under the chapter each starts in (one untitled group without chapters).
function groups(sentences, chapters) {
  const sorted = [...chapters].sort((a, b) => a.start - b.start);
  const found = [];
  let chapter = -1;
  sentences.forEach((sentence, index) => {
    while (chapter + 1 < sorted.length && sorted[chapter + 1].start <= sentence.start + 0.05) chapter += 1;
    const last = found[found.length - 1];
    if (!last || last.chapter !== chapter) found.push({ chapter, title: sorted[chapter]?.title, items: [] });
    found[found.length - 1].items.push(index);
  });
  return found;
}

export class SentenceList {
  constructor(list, { sentences, chapters, selectable, onChoose, onSeek }) {
    this.list = list;
    this.sentences = sentences;
    this.selectable = selectable;
    this.onChoose = onChoose;
    this.onSeek = onSeek;
    this.items = [];
    this.anchor = -1;
    this.range = null;
    this.tabStop = 0;
    this.build(chapters);
    list.addEventListener("click", (event) => this.clicked(event));
    list.addEventListener("keydown", (event) => this.keyed(event));
  }

  build(chapters) {
    const fragment = document.createDocumentFragment();
    groups(this.sentences, chapters).forEach((group, number) => {
      const holder = element("li", "sentence-group");
      holder.setAttribute("role", "group");
      if (group.title) {
        const heading = element("h3", "sentence-chapter", group.title);
        heading.id = `sentence-chapter-${number}`;
        holder.setAttribute("aria-labelledby", heading.id);
        holder.append(heading);
      }
      const target = element("ol", "sentence-items");
      target.setAttribute("role", "none");
      holder.append(target);
      for (const index of group.items) target.append(this.option(index));
      fragment.append(holder);
    });
    this.list.replaceChildren(fragment);
    this.items[0]?.setAttribute("tabindex", "0");
  }

  option(index) {
    const sentence = this.sentences[index];
    const item = element("li", "sentence");
    item.setAttribute("role", "option");
    item.setAttribute("tabindex", "-1");
    item.setAttribute("aria-selected", "false");
    item.dataset.index = String(index);
    item.append(element("span", "sentence-time", formatTime(sentence.start, 1)), " ",
                element("span", "sentence-text", sentence.text));
    this.items[index] = item;
    return item;
  }

  indexOf(target) {
    const item = target.closest?.('[role="option"]');
    return item && this.list.contains(item) ? Number(item.dataset.index) : -1;
  }

  clicked(event) {
    const index = this.indexOf(event.target);
    if (index < 0) return;
    this.focus(index);
    this.choose(index, event.shiftKey);
  }

  keyed(event) {
    const index = this.indexOf(event.target);
    if (index < 0) return;
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: this.items.length - 1,
                    PageDown: index + 10, PageUp: index - 10 };
    if (event.key in moves) {
      event.preventDefault();
      const next = Math.min(Math.max(moves[event.key], 0), this.items.length - 1);
      this.focus(next);
      if (event.shiftKey && this.selectable && this.anchor >= 0) this.choose(next, true);
    } else if (event.key === "Enter") {
      event.preventDefault();
      this.choose(index, event.shiftKey);
    }
  }

  focus(index) {
    this.items[this.tabStop]?.setAttribute("tabindex", "-1");
    this.tabStop = index;
    const item = this.items[index];
    item.setAttribute("tabindex", "0");
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  // A click chooses one sentence and moves the playhead there; a shift-click extends the choice.
  choose(index, extend) {
    if (!this.selectable) {
      this.onSeek(this.sentences[index].start);
      return;
    }
    if (!extend || this.anchor < 0) {
      this.anchor = index;
      this.onSeek(this.sentences[index].start);
    }
    this.setRange([Math.min(this.anchor, index), Math.max(this.anchor, index)]);
  }

  setRange(range) {
    if (this.range) {
      for (let i = this.range[0]; i <= this.range[1]; i += 1) this.items[i].setAttribute("aria-selected", "false");
    }
    this.range = range;
    if (range) {
      for (let i = range[0]; i <= range[1]; i += 1) this.items[i].setAttribute("aria-selected", "true");
    } else {
      this.anchor = -1;
    }
    this.onChoose(range && { first: range[0], last: range[1],
                             start: this.sentences[range[0]].start, end: this.sentences[range[1]].end });
  }

  // Scroll the list (never the page) to the sentence playing at `seconds`.
  reveal(seconds) {
    const index = this.sentences.findIndex((sentence) => sentence.end > seconds);
    const item = this.items[index];
    if (!item) return;
    const panel = this.list.parentElement;
    const top = item.getBoundingClientRect().top - panel.getBoundingClientRect().top + panel.scrollTop;
    if (top < panel.scrollTop || top > panel.scrollTop + panel.clientHeight - item.offsetHeight) {
      panel.scrollTop = top - panel.clientHeight / 3;
    }
  }

  clear() {
    this.setRange(null);
  }

  // Mark the sentences that lie in one of the segments (sorted by start).
  markCovered(segments) {
    let position = 0;
    this.sentences.forEach((sentence, index) => {
      while (position < segments.length && segments[position].end <= sentence.start) position += 1;
      const segment = segments[position];
      const inside = Boolean(segment && segment.start < sentence.end && sentence.start < segment.end);
      this.items[index].classList.toggle("in-segment", inside);
    });
  }
}
