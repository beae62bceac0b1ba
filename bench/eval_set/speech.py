"""An audio episode from a script: espeak-ng speaks each sentence, the pieces are laid out with
the script's pauses, noise is mixed in at a set SNR, and the result is encoded to AAC.

Times in script.json and truth.json come from the sample counts of the pieces.
"""
import functools
import json
import subprocess
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from eval_set import episodes

RATE = 22050
EDGE_SECONDS = 0.5
TRIM_LEVEL = 0.01      # of full scale: what counts as sound when trimming a piece's silence
TRIM_MARGIN = 0.03     # seconds of a piece's own silence kept at each edge


def espeak_available():
    try:
        return subprocess.run(["espeak-ng", "--version"], capture_output=True).returncode == 0
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def voice_works(name):
    """Whether espeak-ng can speak with this voice here (mbrola voices need their packages)."""
    found = subprocess.run(["espeak-ng", "-v", name, "--stdout", "test"], capture_output=True)
    return found.returncode == 0 and len(found.stdout) > 1000


def usable_voice(key):
    """The voice settings for `key`, or its fallback's where the voice is not installed."""
    voice = episodes.VOICES[key]
    if not voice_works(voice["voice"]) and voice.get("fallback"):
        return usable_voice(voice["fallback"])
    return voice


def speak(text, voice):
    """Float samples at RATE of `text` spoken by `voice`, its leading and trailing silence
    trimmed to TRIM_MARGIN."""
    spoken = subprocess.run(["espeak-ng", "-v", voice["voice"], "-s", str(voice["speed"]),
                             "-p", str(voice["pitch"]), "--stdout", text],
                            capture_output=True, check=True).stdout
    rate = int.from_bytes(spoken[24:28], "little")
    data = spoken.index(b"data") + 8
    samples = np.frombuffer(spoken[data:len(spoken) - (len(spoken) - data) % 2], np.int16)
    samples = samples.astype(np.float32) / 32768
    if rate != RATE:
        from scipy.signal import resample_poly

        samples = resample_poly(samples, RATE, rate).astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > TRIM_LEVEL)
    if len(loud):
        margin = int(TRIM_MARGIN * RATE)
        samples = samples[max(loud[0] - margin, 0):loud[-1] + margin]
    return samples


def colored_noise(length, color, rng):
    """Pink (1/f power) or brown (1/f² power) noise, without its lowest 20 Hz."""
    from scipy.fft import irfft, next_fast_len, rfft

    size = next_fast_len(length, real=True)   # an awkward length makes the FFT very slow
    spectrum = rfft(rng.standard_normal(size))
    frequencies = np.fft.rfftfreq(size, 1 / RATE)
    frequencies[0] = frequencies[1]
    spectrum /= np.sqrt(frequencies) if color == "pink" else frequencies
    spectrum[frequencies < 20] = 0
    return irfft(spectrum, size)[:length].astype(np.float32)


def layout(lines, pieces):
    """The whole programme's samples; sets each line's start and end (seconds)."""
    edge = np.zeros(int(EDGE_SECONDS * RATE), np.float32)
    parts, position = [edge], len(edge)
    for index, (line, piece) in enumerate(zip(lines, pieces)):
        if index:
            gap = np.zeros(int(round(line["pause"] * RATE)), np.float32)
            parts.append(gap)
            position += len(gap)
        line["start"], line["end"] = round(position / RATE, 3), round((position + len(piece)) / RATE, 3)
        parts.append(piece)
        position += len(piece)
    parts.append(edge)
    return np.concatenate(parts)


def mix_noise(speech, pieces, noise, seed):
    """`speech` with noise at (color, SNR in dB) of the speech alone; scaled to -1 dBFS."""
    snr = None
    # A floor of faint noise (-80 dBFS) as any recording has; the AAC encoder is also several
    # times slower on exact digital silence.
    speech = speech + np.random.default_rng(seed + 1).standard_normal(len(speech)).astype(np.float32) * 1e-4
    if noise:
        color, snr = noise
        level = float(np.sqrt(np.mean(np.concatenate(pieces) ** 2)))
        hiss = colored_noise(len(speech), color, np.random.default_rng(seed))
        hiss *= level / 10 ** (snr / 20) / float(np.sqrt(np.mean(hiss ** 2)))
        speech = speech + hiss
    return speech * (10 ** (-1 / 20) / float(np.max(np.abs(speech)))), snr


def encode(samples, target):
    """Write `samples` as mono AAC (48 kb/s, the fast coder) at `target` through a WAV."""
    from services.media.ffmpeg import ffmpeg_path

    with tempfile.TemporaryDirectory(prefix="eval-audio-") as tmp:
        wav = Path(tmp) / "speech.wav"
        with wave.open(str(wav), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
        subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
                        "-map_metadata", "-1", "-c:a", "aac", "-aac_coder", "fast", "-b:a", "48k",
                        "-ac", "1", "-fflags", "+bitexact", "-flags:a", "+bitexact", str(target)],
                       check=True)


def render(item, folder):
    """audio.m4a, script.json and truth.json of one audio episode in `folder`."""
    lines, topics = episodes.build_script(item)
    voices = {key: usable_voice(key) for key in item["voices"]}
    with ThreadPoolExecutor(2) as pool:
        pieces = list(pool.map(lambda line: speak(line["text"], voices[line["voice"]]), lines))
    for line in lines:
        line["voice"] = voices[line["voice"]]["voice"]
    speech = layout(lines, pieces)
    mixed, snr = mix_noise(speech, pieces, item["noise"], episodes.seed_of(item["name"]))
    folder.mkdir(parents=True, exist_ok=True)
    encode(mixed, folder / "audio.m4a")
    (folder / "script.json").write_text(json.dumps({"sentences": lines}, indent=1))
    truth = episodes.truth_of(item, topics, lines, len(mixed) / RATE)
    truth["voices"] = sorted({v["voice"] for v in voices.values()})
    truth["snr_db"] = snr
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth
