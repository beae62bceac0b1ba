// Times on the segment page: typed times, snapping edges to words, and the checks a selection
// gets before Continue (the server checks it again).

// "1:05.2", "01:05.25", "1:02:03.5" or plain seconds "65.2" -> seconds, or null.
export function parseTime(text) {
  const value = String(text).trim().replace(",", ".");
  if (!/^\d+(:\d{1,2}){0,2}(\.\d*)?$/.test(value)) return null;
  const parts = value.split(":");
  const seconds = Number(parts.pop());
  const numbers = parts.map(Number);
  if (numbers.length && seconds >= 60) return null;
  if (numbers.length === 2 && numbers[1] >= 60) return null;
  const total = numbers.reduce((sum, part) => sum * 60 + part, 0) * 60 + seconds;
  return Number.isFinite(total) ? total : null;
}

// Seconds as M:SS.ss (H:MM:SS.ss past an hour), precise enough to type back.
export function formatTime(seconds, digits = 2) {
  const hundredths = Math.round(Math.max(0, seconds) * 10 ** digits);
  const whole = Math.floor(hundredths / 10 ** digits);
  const fraction = digits ? `.${String(hundredths % 10 ** digits).padStart(digits, "0")}` : "";
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = String(whole % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}${fraction}`
               : `${minutes}:${secs}${fraction}`;
}

// A length as "12.3 s" or "1:05.0".
export function formatLength(seconds) {
  return seconds < 60 ? `${seconds.toFixed(1)} s` : formatTime(seconds, 1);
}

// The index of the value in the sorted array nearest to `target` (-1 when empty).
function nearest(sorted, target) {
  if (!sorted.length) return -1;
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle] < target) low = middle + 1;
    else high = middle;
  }
  if (low > 0 && target - sorted[low - 1] <= sorted[low] - target) return low - 1;
  return low;
}

// Word boundaries for snapping: starts snap to word starts, ends to word ends. Without words the
// sentence boundaries are used; without those, times are kept as they are.
export class Snapper {
  constructor(words, sentences, duration) {
    const pairs = words && words.length ? words : sentences.map((s) => [s.start, s.end]);
    this.starts = Float64Array.from(pairs.map((pair) => pair[0])).sort();
    this.ends = Float64Array.from(pairs.map((pair) => pair[1])).sort();
    this.duration = duration;
  }

  clamp(seconds) {
    return Math.min(Math.max(seconds, 0), this.duration || seconds);
  }

  start(seconds) {
    const index = nearest(this.starts, seconds);
    return index < 0 ? this.clamp(seconds) : this.starts[index];
  }

  end(seconds) {
    const index = nearest(this.ends, seconds);
    return index < 0 ? this.clamp(seconds) : this.ends[index];
  }

  // The boundary one word before (-1) or after (+1) `seconds` on the given side.
  step(side, seconds, direction) {
    const list = side === "start" ? this.starts : this.ends;
    if (!list.length) return this.clamp(seconds + direction * 0.5);
    const index = nearest(list, seconds);
    const current = list[index];
    let next = index;
    if (direction > 0) next = current > seconds + 0.001 ? index : index + 1;
    else next = current < seconds - 0.001 ? index : index - 1;
    return list[Math.min(Math.max(next, 0), list.length - 1)];
  }
}

// Per segment (sorted by start): its problems, as the server would find them.
export function checkSegments(segments, bounds) {
  return segments.map((segment, position) => {
    const length = segment.end - segment.start;
    const problems = [];
    if (length <= 0) problems.push({ level: "error", text: "Ends before it starts." });
    else if (length < bounds.min_seconds) {
      problems.push({ level: "error",
                      text: `Shorter than the ${bounds.min_seconds} s minimum.` });
    } else if (length > bounds.max_seconds) {
      problems.push({ level: "warning",
                      text: `Longer than the ${bounds.max_seconds} s maximum; you will be asked to confirm.` });
    }
    const before = segments[position - 1];
    const after = segments[position + 1];
    if (before && before.end > segment.start) {
      problems.push({ level: "error", text: `Overlaps segment ${position}.` });
    }
    if (after && segment.end > after.start) {
      problems.push({ level: "error", text: `Overlaps segment ${position + 2}.` });
    }
    return problems;
  });
}
