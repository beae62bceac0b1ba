"""Run every benchmark in turn, then print one table of the figures with their goals.

The first six print their own tables as they go; the others give rows to the closing table.
`--quick` runs the short version of each (fewer cancels, shorter windows, fewer runs).
"""
import argparse
import importlib
import runpy
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import machine, print_rows  # noqa: E402

OWN_TABLES = ("cancel_latency.py", "eta_error.py", "wer.py", "chapters.py", "production.py",
              "episode_package.py")
# name -> rows(module, quick)
SUMMARISED = {
    "event_latency": lambda m, quick: m.rows(quick),
    "event_cost": lambda m, quick: m.rows(50 if quick else 200),
    "overhead": lambda m, quick: m.rows(1, 3) if quick else m.rows(3),
    "log_flood": lambda m, quick: m.rows(3.0, 1) if quick else m.rows(10.0, 2),
    "reconnect": lambda m, quick: m.rows(20, 20) if quick else m.rows(100),
    "memory": lambda m, quick: m.rows(5, 25) if quick else m.rows(10, 100),
    "fetch_guard": lambda m, quick: m.rows(3 if quick else 10),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short version of each")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        choices=[Path(s).stem for s in OWN_TABLES] + list(SUMMARISED),
                        help="run just these benchmarks (e.g. --only event_latency memory)")
    args = parser.parse_args()
    chosen = set(args.only or [Path(s).stem for s in OWN_TABLES] + list(SUMMARISED))
    for script in (s for s in OWN_TABLES if Path(s).stem in chosen):
        print(f"== {script}", flush=True)
        quick_args = {"cancel_latency.py": ["-n", "3"], "chapters.py": ["--quick"],
                      "episode_package.py": ["--quick"]}
        sys.argv = [script] + (quick_args.get(script, []) if args.quick else [])
        runpy.run_path(str(HERE / script), run_name="__main__")
    table = []
    for name, rows in ((n, r) for n, r in SUMMARISED.items() if n in chosen):
        print(f"== {name}.py", flush=True)
        started = time.monotonic()
        try:
            found = rows(importlib.import_module(name), args.quick)
        except Exception as exc:   # one failed benchmark still leaves the others' figures
            traceback.print_exc()
            found = [(name.replace("_", " "), "did not complete", f"{type(exc).__name__}: {exc}",
                      "", "no")]
        print_rows(f"{name} ({time.monotonic() - started:.0f} s)", found)
        table.extend(found)
    print_rows("Summary" + (" (quick)" if args.quick else ""), table)
    print(f"\nMachine: {machine()}")


if __name__ == "__main__":
    main()
