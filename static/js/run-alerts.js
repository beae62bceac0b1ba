// What happens when a run ends while the page is open: a desktop notification (only after
// the user asked for it with the button) and an optional short sound.

const NOTIFY_KEY = "pipeline.notify";
const SOUND_KEY = "pipeline.sound";

function stored(key) {
  try {
    return window.localStorage.getItem(key) === "1";
  } catch (error) {
    return false;
  }
}

function store(key, on) {
  try {
    window.localStorage.setItem(key, on ? "1" : "0");
  } catch (error) {
    // private browsing: the choice lasts for this page only
  }
}

export class RunAlerts {
  constructor(root) {
    this.button = root.querySelector('[data-action="notify"]');
    this.soundBox = root.querySelector('[data-action="sound"]');
    this.status = root.querySelector('[data-field="alert-status"]');
    this.supported = "Notification" in window;
    this.notify = this.supported && stored(NOTIFY_KEY) && Notification.permission === "granted";
    this.soundBox.checked = stored(SOUND_KEY);
    this.audio = null;
    this.button.addEventListener("click", () => this.toggleNotify());
    this.soundBox.addEventListener("change", () => {
      store(SOUND_KEY, this.soundBox.checked);
      if (this.soundBox.checked) this.prepareSound();
    });
    this.render();
  }

  render() {
    if (!this.supported) {
      this.button.disabled = true;
      this.button.textContent = "Notifications not supported";
      return;
    }
    this.button.setAttribute("aria-pressed", String(this.notify));
    this.button.textContent = this.notify ? "Notifying when done" : "Notify me when done";
  }

  // Permission is asked for only here, after the user pressed the button.
  async toggleNotify() {
    if (this.notify) {
      this.notify = false;
    } else {
      let permission = Notification.permission;
      if (permission === "default") permission = await Notification.requestPermission();
      this.notify = permission === "granted";
      this.status.textContent = permission === "denied"
        ? "Notifications are blocked for this site in the browser settings." : "";
    }
    store(NOTIFY_KEY, this.notify);
    this.render();
  }

  // Browsers start audio only after a user gesture: the checkbox click is one.
  prepareSound() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!this.audio) this.audio = new Context();
    if (this.audio.state === "suspended") this.audio.resume();
    return this.audio;
  }

  beep(status) {
    const audio = this.prepareSound();
    if (!audio) return;
    const notes = status === "completed" ? [660, 880] : [440, 330];
    notes.forEach((frequency, index) => {
      const start = audio.currentTime + index * 0.18;
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.15, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(start);
      tone.stop(start + 0.17);
    });
  }

  runEnded(status, title, sessionId) {
    if (this.notify && this.supported && Notification.permission === "granted") {
      const label = { completed: "Run completed", failed: "Run failed", cancelled: "Run cancelled",
        awaiting_selection: "Segments ready for your review" };
      try {
        new Notification(label[status] || `Run ${status}`, { body: title || "", tag: `run-${sessionId}` });
      } catch (error) {
        // some mobile browsers allow notifications only from a service worker
      }
    }
    if (this.soundBox.checked) this.beep(status);
  }
}
