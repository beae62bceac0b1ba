"""Run every benchmark in turn."""
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

for script in ("cancel_latency.py", "eta_error.py", "wer.py", "chapters.py"):
    print(f"== {script}", flush=True)
    sys.argv = [script]
    runpy.run_path(str(HERE / script), run_name="__main__")
