// The run page: a chapter's time plays the episode audio from there; a highlight plays its
// range and stops at its end. Without this module the links open the audio file at that time.
const card = document.getElementById("insights");
const player = card?.querySelector('[data-field="episode-audio"]');
const status = card?.querySelector('[data-field="player-status"]');
const SLACK = 0.5;   // seconds: a seek this close to the range still counts as inside it
let range = null;    // the highlight being played: {start, end}

function say(text) {
  if (status) status.textContent = text;
}

async function play(start, end) {
  range = end === null ? null : { start, end };
  // Before the audio is loaded this sets where playback starts (preload is "none").
  player.currentTime = start;
  say("");
  try {
    await player.play();
  } catch (error) {
    // Autoplay refused, or a newer click interrupted this one: the position is set anyway.
    if (error.name === "NotAllowedError") say("Press play to listen from here.");
    else if (error.name !== "AbortError") say(`The audio could not play: ${error.message}`);
  }
}

function markChapter() {
  const chapters = [...card.querySelectorAll(".chapter[data-start]")];
  let current = null;
  for (const chapter of chapters) {
    if (Number(chapter.dataset.start) <= player.currentTime + 0.05) current = chapter;
  }
  for (const chapter of chapters) {
    if (chapter === current) chapter.setAttribute("aria-current", "true");
    else chapter.removeAttribute("aria-current");
  }
}

if (player) {
  card.addEventListener("click", (click) => {
    const link = click.target.closest("a.seek[data-start]");
    if (!link || click.button !== 0 || click.ctrlKey || click.metaKey || click.shiftKey) return;
    click.preventDefault();
    const end = link.dataset.end === undefined ? null : Number(link.dataset.end);
    play(Number(link.dataset.start), end);
  });
  player.addEventListener("timeupdate", () => {
    markChapter();
    if (range && player.currentTime >= range.end) {
      range = null;
      player.pause();
    }
  });
  // The listener moved elsewhere with the player's own controls: no highlight to stop at.
  player.addEventListener("seeked", () => {
    if (range && (player.currentTime < range.start - SLACK || player.currentTime > range.end)) range = null;
  });
}
