"""Stage 7 on an episode folder of the spoken three-topic fixture: stages 1–5 through the CLI,
stage 6's outputs made by hand with ffmpeg's loudnorm (as that stage's contract describes)."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.signal import lfilter

from services.engine.cancel import Cancelled, CancelToken
from services.engine.context import StageContext
from services.media.cover import make_cover
from services.media.subtitles import to_podcast_json, to_srt, to_vtt
from services.media.tagging import embed_metadata
from services.media.timeline import episode_cues
from services.stages import quality_packaging
from tests.conftest import QuietReporter
from tests.media_support import child_processes, ffmpeg
from tests.server_support import wait_for

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"loudness": {"integrated_lufs": -16.0, "true_peak_dbtp": -1.5}}
# Like stage 6: loudnorm to the target, then a limiter under the ceiling, because AAC at
# 128 kb/s lifts speech's true peak ~1.2 dB above the encoder's input (the limiter costs
# ~0.5 LU, given back by aiming loudnorm higher). asetpts closes the timestamp gap loudnorm
# leaves near the end (without it the file's duration reads ~0.09 s long).
NORMALIZE = "loudnorm=I=-15.5:TP=-1.5:LRA=11"
LIMIT = "aresample=48000,alimiter=limit=-2.5dB:level=false"
ENCODE = ["-c:a", "aac", "-b:a", "128k"]


def encode(source, target, *, start=None, end=None, gain_db=0.0):
    """`source` (or [start, end] of it) normalised like stage 6; `gain_db` louder, limited
    under 0 dBFS (the AAC encoder clips above it), when asked."""
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    trim = ["-ss", f"{start:.3f}", "-to", f"{end:.3f}"] if start is not None else []
    louder = [f"volume={gain_db}dB", "alimiter=limit=-0.5dB:level=false"] if gain_db else []
    chain = ",".join([NORMALIZE, LIMIT, *louder, "asetpts=N/SR/TB"])
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *trim,
                    "-i", str(source), "-af", chain, *ENCODE, str(target)], check=True)


def package_episode(folder, transcript, summary, duration):
    """What stage 6 adds to episode.m4a: cover, embedded chapters and tags, transcripts."""
    cancel = CancelToken()
    cover = make_cover(folder / "cover.jpg", cancel, title="Three topics")
    tags = {"title": "Three topics", "album": "YouTube Pipeline episodes"}
    chapters = [{"start": c["start"], "title": c["title"]} for c in summary["chapters"]]
    chapters[0]["start"] = 0.0
    embed_metadata(folder / "episode.m4a", folder / "episode.m4a", cancel, tags=tags,
                   chapters=chapters, cover=folder / "cover.jpg")
    cues = episode_cues(transcript["segments"], [[0.0, duration, 0.0]], "full", 0.0, duration)
    (folder / "episode.vtt").write_text(to_vtt(cues), encoding="utf-8")
    (folder / "episode.srt").write_text(to_srt(cues), encoding="utf-8")
    (folder / "episode.transcript.json").write_text(to_podcast_json(cues, "en"), encoding="utf-8")
    return {"chapters": chapters, "cover": {"file": "cover.jpg", "width": cover["width"], "height": cover["height"],
                      "from": "title card"}, "tags": tags,
            "transcripts": {"files": ["episode.vtt", "episode.srt", "episode.transcript.json"],
                            "language": "en", "cues": len(cues)}}


def make_production(folder):
    """episode.m4a, clips/NN.m4a + .srt and production.json, from stages 1–5's outputs."""
    read = lambda name: json.loads((folder / name).read_text(encoding="utf-8"))  # noqa: E731
    metadata, transcript = read("metadata.json"), read("transcript.json")
    segments, summary = read("segments.json")["segments"], read("summary.json")
    source = folder / "audio_hq.flac"
    duration = float(metadata["duration"])
    encode(source, folder / "episode.m4a")
    package = package_episode(folder, transcript, summary, duration)
    clips = []
    for number, segment in enumerate(segments, start=1):
        start, end = segment["start"], segment["end"]
        name = f"clips/{number:02d}"
        encode(source, folder / f"{name}.m4a", start=start, end=end)
        cues = [{"start": max(s["start"], start) - start, "end": min(s["end"], end) - start,
                 "text": s["text"]} for s in transcript["segments"]
                if s["end"] > start and s["start"] < end]
        (folder / f"{name}.srt").write_text(to_srt(cues), encoding="utf-8")
        clips.append({"file": f"{name}.m4a", "srt": f"{name}.srt", "segment": segment["index"],
                      "source_start": start, "source_end": end, "planned_duration": end - start})
    production = {
        "mode": "full", "format": "m4a",
        "episode": {"file": "episode.m4a", "planned_duration": duration, "program_offset": 0},
        "clips": clips, "timeline": [[0.0, duration, 0.0]],
        "chapters": [{"start": c["start"], "title": c["title"]} for c in summary["chapters"]],
        "loudness": {"target_lufs": -16.0, "target_tp": -1.5, "method": "loudnorm-linear",
                     "input": {"i": -21.2, "tp": -1.2, "lra": 2.8}},
        "branding": {"intro": None, "outro": None, "music_bed": None, "music_level_db": -20},
        **package,
    }
    (folder / "production.json").write_text(json.dumps(production, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def episode(tmp_path_factory, media_server):
    """A finished episode folder (stages 1–5 by the CLI, stage 6's files by hand)."""
    data_dir = tmp_path_factory.mktemp("s7data")
    subprocess.run([sys.executable, str(ROOT / "run.py"), "--data-dir", str(data_dir), "process",
                    f"{media_server}/topics.m4a", "--stages", "1,2,3,4,5"],
                   check=True, cwd=ROOT, capture_output=True, timeout=280)
    (folder,) = (data_dir / "episodes").iterdir()
    make_production(folder)
    return folder


@pytest.fixture
def copy_of(episode, tmp_path):
    """A fresh copy of the episode folder, to break."""
    def make():
        target = tmp_path / "episode"
        shutil.copytree(episode, target)
        for name in quality_packaging.OUTPUTS:
            (target / name).unlink(missing_ok=True)
        return target
    return make


def run_stage(folder, reporter=None, cancel=None):
    ctx = StageContext("test", "http://example.invalid/", folder, SETTINGS,
                       cancel or CancelToken(), reporter or QuietReporter())
    outputs = quality_packaging.run(ctx)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return outputs, manifest, (folder / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def passed(episode):
    reporter = QuietReporter()
    outputs, manifest, html = run_stage(episode, reporter)
    return {"outputs": outputs, "manifest": manifest, "html": html, "reporter": reporter}


def integrated_loudness(path):
    """BS.1770-4 integrated loudness computed here (PyAV decode, K-weighting, gating)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=rate)
        chunks = [frame.to_ndarray() for packet in container.decode(stream)
                  for frame in resampler.resample(packet)]
    samples = np.concatenate(chunks, axis=1).astype(np.float64)
    assert rate == 48000
    shelf = ([1.53512485958697, -2.69169618940638, 1.19839281085285],
             [1.0, -1.69065929318241, 0.73248077421585])
    high_pass = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])
    weighted = lfilter(*high_pass, lfilter(*shelf, samples, axis=1), axis=1)
    block, step = int(0.4 * rate), int(0.1 * rate)
    starts = range(0, weighted.shape[1] - block + 1, step)
    power = np.array([(weighted[:, s:s + block] ** 2).mean(axis=1).sum() for s in starts])
    loud = lambda p: -0.691 + 10 * np.log10(p)  # noqa: E731
    gated = power[loud(power) > -70]
    gated = gated[loud(gated) > loud(gated.mean()) - 10]
    return float(loud(gated.mean()))


def test_a_correct_episode_passes(passed, episode):
    manifest = passed["manifest"]
    assert passed["outputs"] == ["manifest.json", "report.html"]
    assert manifest["verdict"] == "passed", [f for f in manifest["findings"] if f["level"] != "ok"]
    assert passed["reporter"].sub_stages == ["Measuring loudness and peaks",
                                             "Checking durations and subtitle timing",
                                             "Writing report"]
    checks = {f["check"] for f in manifest["findings"]}
    assert {"duration", "loudness", "true peak", "subtitles", "chapters",
            "transcript coverage"} <= checks
    clips = json.loads((episode / "production.json").read_text(encoding="utf-8"))["clips"]
    assert len(manifest["measurements"]["clips"]) == len(clips) >= 1   # one per chosen segment
    assert manifest["target"] == {"integrated_lufs": -16.0, "true_peak_dbtp": -1.5}
    assert manifest["stage_timings"]["transcription"] and "quality_packaging" in manifest["stage_timings"]
    assert manifest["parameters"]["transcription"]
    assert set(manifest["versions"]) == {"yt-dlp", "faster-whisper", "ffmpeg", "ctranslate2"}
    assert manifest["versions"]["ffmpeg"] and " " not in manifest["versions"]["ffmpeg"]
    measuring = [p for p in passed["reporter"].progress if p[2] == "s"]
    assert measuring and measuring[-1][0] == pytest.approx(measuring[-1][1], rel=0.01)


def test_measured_loudness_matches_an_independent_measurement(passed, episode):
    measurements = passed["manifest"]["measurements"]
    for entry in [measurements["episode"], *measurements["clips"]]:
        assert abs(entry["i"] - integrated_loudness(episode / entry["file"])) <= 0.2, entry
        assert -17.0 <= entry["i"] <= -15.0 and entry["tp"] <= -1.0


def test_manifest_lists_every_file_with_its_hash(passed, episode):
    files = {f["path"]: f for f in passed["manifest"]["files"]}
    expected = {str(p.relative_to(episode)) for p in episode.rglob("*") if p.is_file()
                and not p.name.startswith(".")} - {"manifest.json", "report.html", "checkpoints.json"}
    assert set(files) == expected
    for path, entry in files.items():
        data = (episode / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    assert files["episode.m4a"]["duration"] == pytest.approx(124.4, abs=0.2)
    assert files["clips/01.srt"]["duration"] is None


def test_the_report_is_one_safe_page(passed, episode):
    html = passed["html"]
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<svg" in html and "<polyline" in html and "Passed" in html
    points = re.search(r'<polyline points="([^"]+)"', html).group(1).split()
    assert 100 < len(points) <= 600
    production = json.loads((episode / "production.json").read_text(encoding="utf-8"))
    for chapter in production["chapters"]:
        assert chapter["title"] in html
    assert "00:00" in html


def test_a_subtitle_cue_past_the_clip_end_fails(copy_of):
    folder = copy_of()
    srt = folder / "clips" / "01.srt"
    srt.write_text(srt.read_text(encoding="utf-8")
                   + "\n99\n00:01:50,000 --> 00:01:52,000\nToo late\n", encoding="utf-8")
    _, manifest, html = run_stage(folder)
    assert manifest["verdict"] == "failed"
    bad = [f for f in manifest["findings"] if f["level"] == "error"]
    assert len(bad) == 1 and bad[0]["check"] == "subtitles" and "clips/01.srt" in bad[0]["message"]
    assert "outside the clip" in bad[0]["message"] and "Failed" in html


def test_an_episode_3_lu_too_loud_fails(copy_of, episode):
    folder = copy_of()
    encode(episode / "audio_hq.flac", folder / "episode.m4a", gain_db=5)  # the limiter takes 2
    _, manifest, _ = run_stage(folder)
    assert manifest["verdict"] == "failed"
    loudness = [f for f in manifest["findings"] if f["check"] == "loudness" and f["level"] == "error"]
    assert len(loudness) == 1 and "episode.m4a" in loudness[0]["message"]
    assert manifest["measurements"]["episode"]["i"] == pytest.approx(-13.0, abs=0.7)


def test_titles_are_escaped(copy_of):
    folder = copy_of()
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    metadata["title"] = "<b>x</b> & co"
    (folder / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    production = json.loads((folder / "production.json").read_text(encoding="utf-8"))
    production["chapters"][0]["title"] = "<img src=x onerror=alert(1)>"
    (folder / "production.json").write_text(json.dumps(production), encoding="utf-8")
    _, _, html = run_stage(folder)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt; &amp; co" in html
    assert "<img" not in html and "&lt;img src=x" in html


def test_missing_files_and_bad_chapters_are_errors(copy_of):
    folder = copy_of()
    count = len(list((folder / "clips").glob("*.m4a")))   # one per segment the run chose
    last = f"clips/{count:02d}.m4a"
    (folder / last).unlink()
    production = json.loads((folder / "production.json").read_text(encoding="utf-8"))
    production["chapters"].append({"start": 500.0, "title": "After the end"})
    (folder / "production.json").write_text(json.dumps(production), encoding="utf-8")
    _, manifest, _ = run_stage(folder)
    errors = {(f["check"], f["message"].split(":")[0]) for f in manifest["findings"]
              if f["level"] == "error"}
    assert ("files", f"{last} is missing") in errors
    assert any(check == "chapters" for check, _ in errors)
    assert len(manifest["measurements"]["clips"]) == count - 1


def test_parsing_srt_and_coverage():
    cues = quality_packaging.parse_srt("1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n\r\n"
                                       "2\n00:01:00.250 --> 00:01:01,000\nTwo\nlines\n")
    assert cues == [{"start": 1.0, "end": 2.5, "text": "Hello"},
                    {"start": 60.25, "end": 61.0, "text": "Two\nlines"}]
    with pytest.raises(ValueError):
        quality_packaging.parse_srt("1\n00:00:01 --> soon\nHello\n")
    assert quality_packaging.transcript_coverage(
        [{"start": 0, "end": 4}, {"start": 2, "end": 6}, {"start": 8, "end": 12}], 10) == 0.8


def test_parameters_follow_the_inputs_without_reading_the_audio(copy_of):
    folder = copy_of()
    ctx = StageContext("t", "", folder, SETTINGS, CancelToken(), QuietReporter())
    first = quality_packaging.parameters(ctx)
    assert first["version"] == 1 and first["target"] == [-16.0, -1.5]
    assert quality_packaging.parameters(ctx) == first
    os.utime(folder / "episode.m4a", ns=(1, 1))
    assert quality_packaging.parameters(ctx)["inputs"] != first["inputs"]


def test_cancel_while_measuring_stops_within_a_second(copy_of, episode):
    folder = copy_of()
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "11",
                    "-i", str(episode / "episode.m4a"), "-c", "copy", str(folder / "episode.m4a")],
                   check=True)  # 25 minutes: seconds to measure
    cancel = CancelToken()
    measuring = threading.Event()
    reporter = QuietReporter(on_sub_stage=lambda name: name.startswith("Measuring") and measuring.set())
    outcome = {}

    def work():
        try:
            run_stage(folder, reporter, cancel)
        except BaseException as exc:  # noqa: BLE001 - the test reads what was raised
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=work)
    thread.start()
    assert measuring.wait(30)
    wait_for(lambda: "ffmpeg" in " ".join(child_processes(os.getpid())), timeout=10, interval=0.02)
    assert any(name.startswith("ffmpeg") for name in child_processes(os.getpid()))
    time.sleep(0.3)   # kept: the cancel must land while ffmpeg is busy measuring, not as it starts
    asked = time.monotonic()
    cancel.cancel()
    thread.join(5)
    assert isinstance(outcome.get("error"), Cancelled)
    assert outcome["ended"] - asked < 1.0
    assert child_processes(os.getpid()) == []
    assert not (folder / "manifest.json").exists() and not (folder / "report.html").exists()


def test_a_missing_episode_still_gets_a_report(copy_of):
    folder = copy_of()
    (folder / "episode.m4a").unlink()
    _, manifest, html = run_stage(folder)
    assert manifest["verdict"] == "failed" and manifest["measurements"]["episode"] is None
    assert any(f["message"] == "episode.m4a is missing" for f in manifest["findings"])
    assert "The episode could not be measured" in html and "<svg" not in html
