"""Stage 6 through the live server, measured independently: ffmpeg's ebur128 run by the test,
and PCM decoded with PyAV for the music bed."""
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import av
import numpy as np
import pytest

from services.media.subtitles import parse_vtt
from services.media.tagging import read_metadata
from tests.conftest import FIXTURES, cancel_during
from tests.media_support import child_processes, ffmpeg
from tests.server_support import start_run, wait_state

TARGET_I, TARGET_TP = -16.0, -1.5
TONE_HZ = 6000


def loudness(path):
    """(integrated LUFS, LRA, true peak dBTP) by ffmpeg's ebur128, run here."""
    result = subprocess.run([ffmpeg(), "-hide_banner", "-nostats", "-i", str(path), "-af",
                             "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
                            capture_output=True, text=True, timeout=120)
    summary = result.stderr[result.stderr.rfind("Summary:"):]
    number = lambda pattern: float(re.search(pattern, summary, re.MULTILINE).group(1))  # noqa: E731
    return (number(r"^\s*I:\s+(-?[0-9.]+) LUFS"), number(r"^\s*LRA:\s+(-?[0-9.]+) LU"),
            number(r"^\s*Peak:\s+(-?[0-9.]+) dBFS"))


def duration_of(path):
    with av.open(str(path)) as container:
        return container.duration / av.time_base


def episodes(live_server):
    return Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes"


@pytest.fixture(scope="module")
def interview(watch_run, live_server, media_server):
    """Stages 1–6 of the two-voice interview (guest 6 dB quieter), the default full mode."""
    episode = f"interview-{uuid.uuid4().hex[:8]}"
    snapshot = watch_run(f"{media_server}/two_voices.m4a", [1, 2, 3, 4, 5, 6], episode=episode,
                         timeout=300, socket=False)["snapshot"]
    assert snapshot["state"] == "completed", snapshot["error"]
    folder = episodes(live_server) / episode
    return {"folder": folder, "episode": episode,
            "production": json.loads((folder / "production.json").read_text())}


def test_episode_and_clips_are_on_target(interview):
    folder, production = interview["folder"], interview["production"]
    files = [folder / production["episode"]["file"]] + [folder / c["file"] for c in production["clips"]]
    assert production["clips"]
    for path in files:
        integrated, _, peak = loudness(path)
        assert abs(integrated - TARGET_I) <= 1.0, (path.name, integrated)
        assert peak <= TARGET_TP + 0.5, (path.name, peak)
        with av.open(str(path)) as container:
            assert container.streams.audio[0].codec_context.sample_rate == 48000


def test_voices_are_levelled(interview):
    source_lra = loudness(FIXTURES / "two_voices.m4a")[1]
    episode_lra = loudness(interview["folder"] / "episode.m4a")[1]
    assert source_lra > 6.0
    assert episode_lra <= 5.0, (source_lra, episode_lra)


def test_long_pause_is_shortened_and_chapters_follow(interview):
    truth = json.loads((FIXTURES / "two_voices.json").read_text())
    production = interview["production"]
    episode_seconds = duration_of(interview["folder"] / "episode.m4a")
    # the 3 s pause before the last question becomes 0.75 s: about 2.25 s shorter
    assert truth["duration"] - 3.0 < episode_seconds < truth["duration"] - 1.5
    assert abs(episode_seconds - production["episode"]["planned_duration"]) <= 0.1
    assert len(production["timeline"]) == 2
    for chapter in production["chapters"]:
        assert 0 <= chapter["start"] < episode_seconds


def test_clips_match_their_segments_and_subtitles_fit(interview):
    folder = interview["folder"]
    segments = json.loads((folder / "segments.json").read_text())["segments"]
    clips = interview["production"]["clips"]
    assert len(clips) == len(segments)
    for clip, segment in zip(clips, segments):
        length = duration_of(folder / clip["file"])
        assert abs(length - (segment["end"] - segment["start"])) <= 0.1, (clip, segment)
        srt = (folder / clip["srt"]).read_text(encoding="utf-8")
        cues = re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})", srt)
        assert cues
        for cue in cues:
            numbers = list(map(int, cue))
            begin = numbers[0] * 3600 + numbers[1] * 60 + numbers[2] + numbers[3] / 1000
            end = numbers[4] * 3600 + numbers[5] * 60 + numbers[6] + numbers[7] / 1000
            assert 0 <= begin < end <= length + 0.001


def tone_level(samples, rate, start, end):
    """dB of the TONE_HZ component in [start, end] seconds (FFT of a Hann window)."""
    piece = samples[int(start * rate):int(end * rate)]
    window = np.hanning(len(piece))
    spectrum = np.abs(np.fft.rfft(piece * window))
    frequencies = np.fft.rfftfreq(len(piece), 1 / rate)
    band = (frequencies > TONE_HZ - 15) & (frequencies < TONE_HZ + 15)
    return 20 * np.log10(spectrum[band].max() / window.sum() + 1e-12)


def decode_mono(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks), 48000


def test_music_bed_is_ducked_under_speech_with_intro_and_outro(interview, live_server, monkeypatch):
    assets = Path(live_server.app.config["PIPELINE"]["data_dir"]) / "assets"
    assets.mkdir(exist_ok=True)
    for name, source in (("bed.wav", f"sine=frequency={TONE_HZ}:duration=20"),
                         ("intro.wav", "sine=frequency=440:duration=2"),
                         ("outro.wav", "sine=frequency=660:duration=1.5")):
        subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        source, "-af", "volume=-6dB", str(assets / name)], check=True)
    production = live_server.app.config["PIPELINE"].setdefault("production", {})
    for key, value in (("music_bed", "bed.wav"), ("intro", "intro.wav"), ("outro", "outro.wav"),
                       ("max_pause_seconds", 10.0)):
        monkeypatch.setitem(production, key, value)
    episode = f"{interview['episode']}-bed"
    shutil.copytree(interview["folder"], episodes(live_server) / episode)
    client = live_server.app.test_client()
    snapshot = wait_state(client, start_run(live_server, "http://127.0.0.1:9/bed.m4a", [6],
                                            episode_directory=episode))
    assert snapshot["state"] == "completed", snapshot["error"]
    folder = episodes(live_server) / episode
    made = json.loads((folder / "production.json").read_text())
    assert made["branding"]["music_bed"] == "bed.wav" and made["episode"]["program_offset"] == 2.0
    total = duration_of(folder / "episode.m4a")
    assert abs(total - (2.0 + 42.382 + 1.5)) <= 0.2  # intro + the whole interview + outro
    samples, rate = decode_mono(folder / "episode.m4a")
    truth = json.loads((FIXTURES / "two_voices.json").read_text())
    offset = made["episode"]["program_offset"]
    pause = (truth["turns"][3]["end"] + 1.0 + offset, truth["turns"][4]["start"] - 0.2 + offset)
    speech = (truth["turns"][2]["start"] + 0.5 + offset, truth["turns"][2]["end"] - 0.5 + offset)
    in_pause, under_speech = tone_level(samples, rate, *pause), tone_level(samples, rate, *speech)
    assert in_pause - under_speech >= 10.0, (in_pause, under_speech)
    integrated, _, peak = loudness(folder / "episode.m4a")
    assert abs(integrated - TARGET_I) <= 1.0 and peak <= TARGET_TP + 0.5


def test_highlights_mode_in_mp3(interview, live_server, monkeypatch):
    production = live_server.app.config["PIPELINE"].setdefault("production", {})
    monkeypatch.setitem(production, "format", "mp3")
    episode = f"{interview['episode']}-mp3"
    shutil.copytree(interview["folder"], episodes(live_server) / episode)
    folder = episodes(live_server) / episode
    chosen = json.loads((folder / "segments.json").read_text())
    first = dict(chosen["segments"][0])
    duration = json.loads((folder / "analysis.json").read_text())["duration"]
    base = max(min(first["start"], duration - 40.0), 0.0)   # both clips whole inside the media
    chosen["segments"] = [dict(first, index=0, start=base, end=base + 12.0),
                          dict(first, index=1, start=base + 20.0, end=base + 35.0)]
    (folder / "segments.json").write_text(json.dumps(chosen))
    client = live_server.app.test_client()
    session_id = start_run(live_server, "http://127.0.0.1:9/h.mp3", [6], episode_directory=episode,
                           options={"episode_mode": "highlights"})
    snapshot = wait_state(client, session_id)
    assert snapshot["state"] == "completed", snapshot["error"]
    made = json.loads((folder / "production.json").read_text())
    assert made["mode"] == "highlights" and made["episode"]["file"] == "episode.mp3"
    length = duration_of(folder / "episode.mp3")
    assert abs(length - (12.0 + 15.0 - 0.4)) <= 0.15  # one crossfade of 0.4 s
    assert [c["file"] for c in made["clips"]] == ["clips/01.mp3", "clips/02.mp3"]
    integrated, _, peak = loudness(folder / "episode.mp3")
    assert abs(integrated - TARGET_I) <= 1.0 and peak <= TARGET_TP + 0.5
    inside = [(base, base + 12.0), (base + 20.0, base + 35.0)]
    words = [word for segment in json.loads((folder / "transcript.json").read_text())["segments"]
             for word in segment["words"]]
    said = {spoken(word["word"]) for word in words
            if any(a - 0.5 <= word["start"] <= b for a, b in inside)}
    cues = parse_vtt((folder / "episode.vtt").read_text("utf-8"))
    assert cues and all(0 <= cue["start"] < cue["end"] <= length + 0.01 for cue in cues)
    assert {spoken(word) for cue in cues for word in cue["text"].split()} <= said
    embedded = read_metadata(folder / "episode.mp3")["chapters"]
    assert [c["title"] for c in embedded] == ["Highlight 1", "Highlight 2"]
    assert abs(embedded[1]["start"] - (12.0 - 0.4)) <= 0.1


def spoken(word):
    """A word as said: lower case, without punctuation around it."""
    return word.strip().strip(".,;:?!\"'").lower()


def test_cancel_in_the_middle_of_stage_6(live_server, interview):
    """A 20-minute programme: cancelled while it is being mixed, within a second, no ffmpeg left,
    no episode or clip kept."""
    import os

    episode = f"{interview['episode']}-long"
    folder = episodes(live_server) / episode
    shutil.copytree(interview["folder"], folder)
    for name in ("episode.m4a", "production.json"):
        (folder / name).unlink()
    shutil.rmtree(folder / "clips")
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "29",
                    "-i", str(FIXTURES / "two_voices.m4a"), "-c:a", "flac",
                    str(folder / "audio_hq.flac")], check=True)
    analysis = json.loads((folder / "analysis.json").read_text())
    analysis["duration"] = 42.382 * 30
    analysis["speech"]["segments"] = [[0.0, 42.382 * 30]]
    (folder / "analysis.json").write_text(json.dumps(analysis))
    session_id = start_run(live_server, "http://127.0.0.1:9/long.m4a", [6], episode_directory=episode)
    took, completion = cancel_during(live_server.url, session_id, "Mixing intro/outro and music bed")
    assert completion["status"] == "cancelled"
    assert took <= 1.0, f"cancel took {took:.2f} s"
    assert child_processes(os.getpid()) == []
    names = {p.name for p in folder.iterdir()}
    assert "episode.m4a" not in names and "clips" not in names and ".production" not in names
    assert {"audio_hq.flac", "segments.json", "analysis.json"} <= names


def test_the_full_programme_keeps_each_range_whole_so_cuts_do_not_drift(tmp_path):
    from services.stages.audio_production import BLOCK, _program_filter, on_grid

    source = tmp_path / "tone.wav"
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=40:sample_rate=48000", str(source)], check=True)
    # 30 ranges whose ends fall between the blocks the programme is cut in
    ranges = on_grid([(index * 1.3 + 0.0037, index * 1.3 + 0.9061) for index in range(30)])
    assert all(round(value / BLOCK, 6).is_integer() for pair in ranges for value in pair)
    program = sum(end - start for start, end in ranges)
    section = {"leveling": False, "crossfade_seconds": 0.4}
    graph = _program_filter(section, "full", ranges, False, False, False, 1, program)
    out = tmp_path / "program.wav"
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(source),
                    "-filter_complex", graph, "-map", "[out]", str(out)], check=True)
    assert abs(duration_of(out) - program) <= 0.002, (duration_of(out), program)
