"""`python run.py process URL`: a headless run with terminal progress bars."""
import subprocess
import sys
from pathlib import Path

from tests.conftest import SPEECH_WORDS, assert_heard

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, data_dir):
    return subprocess.run([sys.executable, "run.py", "--data-dir", str(data_dir), "process", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)


def test_process_runs_stages_and_reports(tmp_path, speech_url):
    result = run_cli(speech_url, "--stages", "1,2", "--episode", "cli-run", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[1/7] Media Extraction" in result.stderr
    assert "[2/7] Transcription" in result.stderr
    assert "Run completed" in result.stderr
    assert_heard((tmp_path / "episodes" / "cli-run" / "transcript.txt").read_text(), SPEECH_WORDS)


def test_process_refuses_bad_input(tmp_path):
    result = run_cli("file:///etc/passwd", data_dir=tmp_path)
    assert result.returncode != 0
    assert "youtube_url" in result.stderr and "http" in result.stderr
    result = run_cli("http://127.0.0.1:9/a.mp4", "--stages", "1,8", data_dir=tmp_path)
    assert result.returncode != 0 and "selected_stages" in result.stderr
    result = run_cli("http://127.0.0.1:9/a.mp4", "--stages", "3", data_dir=tmp_path)
    assert result.returncode != 0 and "transcript.json" in result.stderr
