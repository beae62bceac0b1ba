// The segment review page: the selection as regions on a waveform drawn from the server's peaks
// (wavesurfer.js, loaded before this module as UMD globals), a list of segments with typed times,
// the transcript to choose sentences from, keys for every action, and Continue.
import { csrfHeaders } from "./csrf.js";
import { fileUrl } from "./format.js";
import { SegmentRows } from "./segment-list.js";
import { Snapper, checkSegments, formatLength, formatTime } from "./segment-times.js";
import { SentenceList } from "./segment-transcript.js";

const root = document.getElementById("segment-review");
const field = (name) => document.querySelector(`[data-field="${name}"]`);
const button = (name) => document.querySelector(`[data-action="${name}"]`);
const COLORS = { plain: "rgba(47, 111, 219, 0.22)", focused: "rgba(47, 111, 219, 0.45)",
                 error: "rgba(198, 47, 47, 0.30)", warning: "rgba(240, 180, 41, 0.35)" };
const MAX_ZOOM = 1000;   // pixels per second

const state = {
  data: null, snapper: null, segments: [], problems: [], focused: null, nextId: 1,
  ws: null, regions: null, zoom: 0, sending: false,
};
let rows;
let transcript;
let editable = false;

function say(text) {
  field("load-status").textContent = text;
}

function showError(text) {
  field("error").textContent = text;
}

function byId(id) {
  return state.segments.find((segment) => segment.id === id);
}

// The text of the sentences inside a segment (shortened), to recognise it in the list.
function textOf(segment) {
  const words = state.data.sentences.filter((s) => s.end > segment.start && s.start < segment.end)
    .map((s) => s.text).join(" ");
  return words.length > 160 ? `${words.slice(0, 157)}…` : words;
}

function regionColor(index, id) {
  const levels = state.problems[index] || [];
  if (levels.some((p) => p.level === "error")) return COLORS.error;
  if (levels.some((p) => p.level === "warning")) return COLORS.warning;
  return id === state.focused ? COLORS.focused : COLORS.plain;
}

// After any change: sort, renumber, check, and redraw the list, regions and transcript marks.
function refresh() {
  state.segments.sort((a, b) => a.start - b.start || a.end - b.end);
  state.problems = checkSegments(state.segments, state.data.bounds);
  rows.render(state.segments, state.problems, textOf);
  rows.mark(state.focused);
  state.segments.forEach((segment, index) => {
    segment.region?.setOptions({ start: segment.start, end: segment.end, color: regionColor(index, segment.id) });
    if (segment.label !== String(index + 1)) {
      segment.label = String(index + 1);
      segment.region?.setContent(segment.label);
    }
  });
  transcript.markCovered(state.segments);
  const total = state.segments.reduce((sum, s) => sum + Math.max(s.end - s.start, 0), 0);
  const count = state.segments.length;
  field("summary").textContent = `${count} segment${count === 1 ? "" : "s"}, ${formatLength(total)} in all`;
  field("empty").hidden = count > 0;
  field("confirm").hidden = true;
}

function regionOptions(segment) {
  return { id: segment.id, start: segment.start, end: segment.end, color: COLORS.plain,
           drag: editable, resize: editable, minLength: 0.2 };
}

function track(segment, region) {
  segment.region = region;
  region.element.dataset.segment = segment.id;
  region.on("update", () => {
    segment.start = region.start;
    segment.end = region.end;
    rows.update(segment);
  });
  region.on("update-end", (side) => {
    if (side !== "end") segment.start = state.snapper.start(region.start);
    if (side !== "start") segment.end = state.snapper.end(region.end);
    focusSegment(segment.id);
    refresh();
  });
  region.on("click", () => focusSegment(segment.id));
}

function addSegment(start, end) {
  const segment = { id: `segment-${state.nextId++}`, start, end, label: "" };
  state.segments.push(segment);
  track(segment, state.regions.addRegion(regionOptions(segment)));
  return segment;
}

function removeSegment(id) {
  const index = state.segments.findIndex((segment) => segment.id === id);
  if (index < 0) return;
  const [gone] = state.segments.splice(index, 1);
  gone.region?.remove();
  if (state.focused === id) state.focused = null;
  refresh();
  const next = state.segments[Math.min(index, state.segments.length - 1)];
  if (next) rows.focus(next.id, "start");
  else field("segments").focus();
  say(`Segment ${index + 1} removed.`);
}

function focusSegment(id) {
  if (state.focused === id) return;
  state.focused = id;
  rows.mark(id);
  transcript.reveal(byId(id)?.start ?? 0);
  state.segments.forEach((segment, index) => segment.region?.setOptions({ color: regionColor(index, segment.id) }));
}

function load(items) {
  state.regions.clearRegions();
  state.segments = [];
  state.focused = null;
  for (const item of items) addSegment(item.start, item.end);
  refresh();
}

function defaultLength() {
  const { min_seconds: low, max_seconds: high } = state.data.bounds;
  return Math.min(high, Math.max(low * 2, low + 5));
}

function addAt(seconds) {
  const duration = state.ws.getDuration();
  let start = state.snapper.start(seconds);
  let end = state.snapper.end(Math.min(start + defaultLength(), duration));
  if (end - start < state.data.bounds.min_seconds) start = state.snapper.start(Math.max(end - defaultLength(), 0));
  if (end <= start) end = Math.min(start + defaultLength(), duration);
  const segment = addSegment(start, end);
  state.focused = segment.id;
  refresh();
  rows.focus(segment.id, "start");
  say(`Segment added: ${formatTime(start)} to ${formatTime(end)}.`);
}

function edit(id, edge, seconds) {
  const segment = byId(id);
  if (!segment) return;
  const clamped = Math.min(Math.max(seconds, 0), state.ws.getDuration());
  segment[edge] = edge === "start" ? state.snapper.start(clamped) : state.snapper.end(clamped);
  refresh();
}

function nudge(id, edge, direction) {
  const segment = byId(id);
  if (!segment) return;
  const moved = state.snapper.step(edge, segment[edge], direction);
  if (edge === "start" ? moved < segment.end : moved > segment.start) segment[edge] = moved;
  refresh();
}

async function play(start, end) {
  try {
    await state.ws.play(start, end);
  } catch (error) {
    if (error.name === "NotAllowedError") say("Press Play to listen.");
    else if (error.name !== "AbortError") say(`The audio could not play: ${error.message}`);
  }
}

function playSegment(id) {
  const segment = byId(id);
  if (segment) play(segment.start, segment.end);
}

function togglePlay() {
  if (state.ws.isPlaying()) state.ws.pause();
  else play();
}

function zoomBy(factor) {
  const fit = state.ws.getWidth() / state.ws.getDuration();
  const next = Math.min(Math.max((state.zoom || fit) * factor, fit), MAX_ZOOM);
  state.ws.zoom(next);
}

// The segment the keys act on: the one whose row has the focus, else the one last chosen.
function currentSegment(target) {
  return target.closest?.("[data-segment]")?.dataset.segment || state.focused;
}

// Delete removes the segment whose row has the focus, or the region last clicked (the focus is
// then on the page itself), never one chosen earlier while the focus is elsewhere.
function removable(target) {
  const row = target.closest?.("[data-segment]")?.dataset.segment;
  return row || (target === document.body ? state.focused : null);
}

function keyed(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || !state.ws) return;
  const target = event.target;
  const typing = target.matches("input, textarea, select, [contenteditable]");
  const nudges = { "[": ["start", -1], "]": ["start", 1], "{": ["end", -1], "}": ["end", 1] };
  if (editable && event.key in nudges && (!typing || target.matches("input[data-edge]"))) {
    const id = currentSegment(target);
    if (!id) return;
    event.preventDefault();
    nudge(id, ...nudges[event.key]);
    return;
  }
  if (typing) return;
  if (event.key === " " && !target.matches("button, a, summary")) {
    event.preventDefault();
    togglePlay();
  } else if (event.key === "Delete" && editable && removable(target)) {
    event.preventDefault();
    removeSegment(removable(target));
  } else if (event.key === "a" && editable) {
    event.preventDefault();
    addAt(state.ws.getCurrentTime());
  } else if (event.key === "p" && currentSegment(target)) {
    event.preventDefault();
    playSegment(currentSegment(target));
  }
}

function confirmWarnings(warnings) {
  const list = field("warnings");
  list.replaceChildren(...warnings.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
  field("confirm").hidden = false;
  button("continue-anyway").focus();
}

async function send(acceptWarnings) {
  if (state.sending) return;
  showError("");
  const blocking = state.problems.flatMap((problems, index) => problems
    .filter((p) => p.level === "error").map((p) => `Segment ${index + 1}: ${p.text}`));
  if (!state.segments.length) blocking.push("Keep at least one segment.");
  if (blocking.length) {
    showError(blocking.join(" "));
    return;
  }
  state.sending = true;
  button("continue").disabled = true;
  try {
    const response = await fetch(root.dataset.post, {
      method: "POST",
      headers: csrfHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ accept_warnings: acceptWarnings, segments: state.segments.map(
        (segment) => ({ start: Number(segment.start.toFixed(3)), end: Number(segment.end.toFixed(3)) })) }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      say("Selection stored; the run goes on.");
      window.location.assign(root.dataset.monitorUrl);
      return;
    }
    if (response.status === 409 && body.error?.code === "needs_confirmation") confirmWarnings(body.warnings || []);
    else showError(body.error?.message || `The selection was refused (HTTP ${response.status}).`);
  } catch (error) {
    showError(`The server could not be reached: ${error.message}`);
  } finally {
    state.sending = false;
    button("continue").disabled = false;
  }
}

function bindControls() {
  button("play").addEventListener("click", togglePlay);
  button("zoom-in").addEventListener("click", () => zoomBy(2));
  button("zoom-out").addEventListener("click", () => zoomBy(0.5));
  document.addEventListener("keydown", keyed);
  if (!editable) return;
  button("add-at-playhead").addEventListener("click", () => addAt(state.ws.getCurrentTime()));
  button("reset").addEventListener("click", () => {
    load(state.data.proposed);
    showError("");
    say("The selection is the proposal again.");
  });
  button("continue").addEventListener("click", () => send(false));
  button("continue-anyway").addEventListener("click", () => send(true));
  button("keep-editing").addEventListener("click", () => {
    field("confirm").hidden = true;
    button("continue").focus();
  });
  button("add-sentences").addEventListener("click", () => {
    const range = transcript.range;
    if (!range) return;
    const sentences = state.data.sentences;
    const start = state.snapper.start(sentences[range[0]].start);
    const end = state.snapper.end(sentences[range[1]].end);
    const segment = addSegment(start, end);
    transcript.clear();
    focusSegment(segment.id);
    refresh();
    say(`Segment added: ${formatTime(start)} to ${formatTime(end)}.`);
  });
  button("clear-sentences").addEventListener("click", () => transcript.clear());
}

function showChoice(choice) {
  if (!editable) return;
  button("add-sentences").disabled = !choice;
  button("clear-sentences").disabled = !choice;
  field("choice").textContent = choice
    ? `Sentences ${choice.first + 1}–${choice.last + 1} chosen (${formatTime(choice.start, 1)} to ${formatTime(choice.end, 1)}, ${formatLength(choice.end - choice.start)}).`
    : "Choose sentences to make a segment.";
}

function createWaveform(peaks, duration) {
  const audio = field("audio");
  if (state.data.audio) audio.src = fileUrl(root.dataset.session, state.data.audio);
  else button("play").disabled = true;
  const { WaveSurfer } = window;
  state.regions = WaveSurfer.Regions.create();
  state.ws = WaveSurfer.create({
    container: field("waveform"), height: 128, media: audio, peaks: [peaks], duration,
    normalize: true, waveColor: "#8fa6cc", progressColor: "#2f6fdb", cursorColor: "#1d2330",
    autoScroll: true, autoCenter: false, dragToSeek: false,
    plugins: [state.regions, WaveSurfer.Timeline.create(),
              WaveSurfer.Zoom.create({ scale: 0.5, maxZoom: MAX_ZOOM })],
  });
  const time = field("time");
  const showTime = (seconds) => {
    time.textContent = `${formatTime(seconds, 1)} / ${formatTime(state.ws.getDuration(), 1)}`;
  };
  state.ws.on("timeupdate", showTime);
  state.ws.on("zoom", (pixels) => { state.zoom = pixels; });
  state.ws.on("play", () => { button("play").textContent = "Pause"; button("play").setAttribute("aria-pressed", "true"); });
  state.ws.on("pause", () => { button("play").textContent = "Play"; button("play").setAttribute("aria-pressed", "false"); });
  state.ws.on("error", (error) => say(`The waveform could not be shown: ${error.message || error}`));
  return new Promise((resolve) => state.ws.once("ready", () => { showTime(0); resolve(); }));
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message || `HTTP ${response.status}`);
  return body;
}

async function start() {
  editable = root.dataset.awaiting === "true";
  let peaks;
  try {
    [state.data, peaks] = await Promise.all([
      fetchJson(root.dataset.src), fetchJson(root.dataset.peaks).catch((error) => ({ error }))]);
  } catch (error) {
    say(`The segments could not be loaded: ${error.message}`);
    return;
  }
  editable = editable && state.data.awaiting;
  const duration = state.data.duration || peaks.duration || 1;
  const values = peaks.peaks?.length ? peaks.peaks : new Array(Math.ceil(duration)).fill(0);
  const { min_seconds: low, max_seconds: high } = state.data.bounds;
  const proposed = state.data.proposed.length;
  field("bounds").textContent = `Each segment should last ${low}–${high} s. Stage 4 proposed ${proposed} segment${proposed === 1 ? "" : "s"}.`;
  state.snapper = new Snapper(state.data.words, state.data.sentences, duration);
  rows = new SegmentRows(field("segments"), {
    editable, onEdit: edit, onPlay: playSegment, onRemove: removeSegment, onFocus: focusSegment });
  transcript = new SentenceList(field("sentences"), {
    sentences: state.data.sentences, chapters: state.data.chapters, selectable: editable,
    onChoose: showChoice, onSeek: (seconds) => state.ws?.setTime(seconds) });
  await createWaveform(values, duration);
  if (editable) {
    state.regions.enableDragSelection({ color: COLORS.focused, minLength: 0.2 });
    state.regions.on("region-created", (region) => {
      if (state.segments.some((segment) => segment.id === region.id)) return;
      // A region dragged out on the waveform: snap it to words and keep it as a segment.
      const segment = { id: `segment-${state.nextId++}`, label: "",
                        start: state.snapper.start(region.start), end: state.snapper.end(region.end) };
      region.setOptions({ id: segment.id });
      state.segments.push(segment);
      track(segment, region);
      focusSegment(segment.id);
      refresh();
      say(`Segment added: ${formatTime(segment.start)} to ${formatTime(segment.end)}.`);
    });
  }
  bindControls();
  load(state.data.segments.length || !editable ? state.data.segments : state.data.proposed);
  say(peaks.error ? `No waveform (${peaks.error.message}); the segments can still be set by time.` : "");
}

if (root && window.WaveSurfer) start();
else if (root) say("The waveform library did not load.");
