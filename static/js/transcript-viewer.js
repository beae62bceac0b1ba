// The run page's transcript: sentences and chapters seek the player, the sentence being heard
// is highlighted and kept in view inside the panel, and a search marks words and steps through
// them. The list is built once; the current sentence is found by binary search on each
// timeupdate, so an hour of speech (a thousand sentences) stays quick. Text is set with
// textContent only.
import { clock } from "./format.js";

const root = document.getElementById("transcript");
const field = (name) => root?.querySelector(`[data-field="${name}"]`);
const EARLY = 0.05;          // seconds: a sentence counts as current this much before its start
const HANDS_OFF_MS = 4000;   // after the listener scrolls the panel, it is not scrolled for them

const state = {
  sentences: [], starts: new Float64Array(0), items: [], chapters: [],
  current: -1, currentChapter: -1, tabStop: 0, scrolledAt: -Infinity,
  query: "", matches: [], match: -1, marked: [],
};
let player, panel, list, status, count, input;

function say(text) {
  status.textContent = text;
}

// The index of the last sentence starting at or before `seconds`, or -1.
function sentenceAt(seconds) {
  let low = 0;
  let high = state.starts.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (state.starts[middle] <= seconds + EARLY) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

// Scroll the panel (never the page) so the element sits in its upper third when out of view.
function reveal(element, force = false) {
  if (!force && performance.now() - state.scrolledAt < HANDS_OFF_MS) return;
  const box = panel.getBoundingClientRect();
  const own = element.getBoundingClientRect();
  if (own.top >= box.top && own.bottom <= box.bottom) return;
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  panel.scrollTo({ top: panel.scrollTop + own.top - box.top - panel.clientHeight / 3,
                   behavior: reduced ? "auto" : "smooth" });
}

function setTabStop(index) {
  state.items[state.tabStop]?.setAttribute("tabindex", "-1");
  state.tabStop = index;
  state.items[index]?.setAttribute("tabindex", "0");
}

function markCurrent(follow) {
  const index = sentenceAt(player.currentTime);
  if (index !== state.current) {
    const before = state.items[state.current];
    before?.classList.remove("is-current");
    before?.removeAttribute("aria-current");
    state.current = index;
    const now = state.items[index];
    if (now) {
      now.classList.add("is-current");
      now.setAttribute("aria-current", "true");
      if (!list.contains(document.activeElement)) setTabStop(index);
      if (follow) reveal(now);
    }
  }
  markChapter();
}

function markChapter() {
  let index = -1;
  state.chapters.forEach((chapter, position) => {
    if (chapter.start <= player.currentTime + EARLY) index = position;
  });
  if (index === state.currentChapter) return;
  state.chapters[state.currentChapter]?.button.removeAttribute("aria-current");
  state.currentChapter = index;
  state.chapters[index]?.button.setAttribute("aria-current", "true");
}

async function playFrom(seconds) {
  if (!player.src) return;
  // Before the audio is loaded this sets where playback starts.
  player.currentTime = seconds;
  state.scrolledAt = -Infinity;
  markCurrent(true);
  try {
    await player.play();
  } catch (error) {
    // Autoplay refused, or a newer click interrupted this one: the position is set anyway.
    if (error.name === "NotAllowedError") say("Press play to listen from here.");
    else if (error.name !== "AbortError") say(`The audio could not play: ${error.message}`);
  }
}

function buildSentences(sentences) {
  const fragment = document.createDocumentFragment();
  state.items = sentences.map((sentence, index) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sentence";
    button.dataset.index = String(index);
    button.dataset.start = sentence.start.toFixed(2);
    button.tabIndex = index === 0 ? 0 : -1;
    const time = document.createElement("span");
    time.className = "sentence-time";
    time.textContent = clock(sentence.start);
    const text = document.createElement("span");
    text.className = "sentence-text";
    text.textContent = sentence.text;
    button.append(time, " ", text);
    item.append(button);
    fragment.append(item);
    return button;
  });
  list.replaceChildren(fragment);
}

function buildChapters(chapters) {
  const nav = field("transcript-chapter-nav");
  const fragment = document.createDocumentFragment();
  state.chapters = chapters.map((chapter) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chapter-seek";
    button.dataset.start = chapter.start.toFixed(2);
    const time = document.createElement("span");
    time.className = "sentence-time";
    time.textContent = clock(chapter.start);
    const title = document.createElement("span");
    title.textContent = chapter.title;
    button.append(time, " ", title);
    button.addEventListener("click", () => playFrom(chapter.start));
    item.append(button);
    fragment.append(item);
    return { start: chapter.start, button };
  });
  field("transcript-chapters").replaceChildren(fragment);
  nav.hidden = chapters.length === 0;
}

// The sentence's text again, with each of `ranges` ([start, end) offsets) in a <mark>.
function paint(index, ranges) {
  const text = state.sentences[index].text;
  const target = state.items[index].querySelector(".sentence-text");
  const parts = [];
  const marks = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) parts.push(text.slice(at, start));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end);
    parts.push(mark);
    marks.push(mark);
    at = end;
  }
  parts.push(text.slice(at));
  target.replaceChildren(...parts);
  return marks;
}

function showCount() {
  const total = state.matches.length;
  if (!state.query) count.textContent = "";
  else if (!total) count.textContent = "No matches";
  else if (state.match < 0) count.textContent = total === 1 ? "1 match" : `${total} matches`;
  else count.textContent = `${state.match + 1} of ${total} matches`;
}

function search(query) {
  if (query === state.query) return;
  for (const index of state.marked) paint(index, []);
  state.query = query;
  state.matches = [];
  state.marked = [];
  state.match = -1;
  if (query) {
    const pattern = new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "giu");
    state.sentences.forEach((sentence, index) => {
      const ranges = [...sentence.text.matchAll(pattern)]
        .map((found) => [found.index, found.index + found[0].length]);
      if (!ranges.length) return;
      state.marked.push(index);
      for (const mark of paint(index, ranges)) state.matches.push({ index, mark });
    });
  }
  showCount();
}

function goToMatch(step) {
  search(input.value.trim());
  const total = state.matches.length;
  if (!total) return;
  state.matches[state.match]?.mark.classList.remove("current-match");
  state.match = state.match < 0 ? (step > 0 ? 0 : total - 1) : (state.match + step + total) % total;
  const { index, mark } = state.matches[state.match];
  mark.classList.add("current-match");
  showCount();
  reveal(state.items[index], true);
  if (player.src) {
    player.currentTime = state.sentences[index].start;
    markCurrent(false);
  }
}

function onListKey(event) {
  const index = Number(event.target.closest(".sentence")?.dataset.index);
  if (Number.isNaN(index)) return;
  const last = state.items.length - 1;
  const page = Math.max(Math.floor(panel.clientHeight / event.target.offsetHeight) - 1, 1);
  const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: last,
                  PageDown: index + page, PageUp: index - page };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = Math.min(Math.max(moves[event.key], 0), last);
  setTabStop(next);
  state.items[next].focus({ preventScroll: true });
  reveal(state.items[next], true);
}

function attachHandlers() {
  list.addEventListener("click", (event) => {
    const button = event.target.closest(".sentence");
    if (!button) return;
    setTabStop(Number(button.dataset.index));
    playFrom(state.sentences[Number(button.dataset.index)].start);
  });
  list.addEventListener("keydown", onListKey);
  for (const kind of ["wheel", "touchmove"]) {
    const note = () => { state.scrolledAt = performance.now(); };
    panel.addEventListener(kind, note, { passive: true });
  }
  player.addEventListener("timeupdate", () => markCurrent(!player.paused));
  // A seek also fires timeupdate (not following while paused): bring the sentence into view.
  player.addEventListener("seeked", () => {
    markCurrent(false);
    if (state.items[state.current]) reveal(state.items[state.current]);
  });
  // One player at a time on the page: starting this one pauses the others, and the reverse.
  document.addEventListener("play", (event) => {
    const others = event.target === player ? document.querySelectorAll("audio, video") : [player];
    for (const other of others) if (other !== event.target && !other.paused) other.pause();
  }, true);

  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value.trim()), 150);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      goToMatch(-1);
    }
  });
  field("transcript-search").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    goToMatch(1);
  });
  root.querySelector('[data-action="previous"]').addEventListener("click", () => goToMatch(-1));
}

function numberOr(value, fallback) {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

async function start() {
  player = field("transcript-audio");
  panel = field("transcript-panel");
  list = field("transcript-sentences");
  status = field("transcript-status");
  count = field("match-count");
  input = root.querySelector("#transcript-query");
  say("Loading the transcript…");
  let data;
  try {
    const response = await fetch(root.dataset.src, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    data = await response.json();
  } catch (error) {
    say(`The transcript could not be loaded: ${error.message}`);
    return;
  }
  const sentences = (Array.isArray(data.sentences) ? data.sentences : [])
    .filter((s) => typeof s.text === "string" && Number.isFinite(s.start))
    .map((s) => ({ start: s.start, end: numberOr(s.end, s.start), text: s.text }));
  if (!sentences.length) {
    say("The transcript has no sentences.");
    return;
  }
  state.sentences = sentences;
  state.starts = Float64Array.from(sentences, (sentence) => sentence.start);
  buildSentences(sentences);
  buildChapters((Array.isArray(data.chapters) ? data.chapters : [])
    .filter((c) => Number.isFinite(c.start) && typeof c.title === "string"));
  if (typeof data.audio === "string" && data.audio) {
    player.src = data.audio;
    field("transcript-player").hidden = false;
  }
  field("transcript-search").hidden = false;
  field("transcript-body").hidden = false;
  const facts = [sentences.length === 1 ? "1 sentence" : `${sentences.length} sentences`];
  if (typeof data.language === "string" && data.language) facts.push(`language ${data.language}`);
  if (Number.isFinite(data.duration)) facts.push(clock(data.duration));
  if (player.src === "") facts.push("no audio file to play");
  say(facts.join(" · "));
  attachHandlers();
}

if (root) start();
