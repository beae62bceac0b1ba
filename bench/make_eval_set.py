"""Generate the chapter evaluation set under bench/eval_set/out/ (seeded, deterministic).

Audio episodes (espeak-ng voices, 1-20 minutes, 2-8 topics, announced or not, clean or noisy)
get audio.m4a, script.json and truth.json; text-only cases get transcript.json, script.json and
truth.json. An episode whose truth.json was made from the same shape is kept as it is.

    .venv/bin/python bench/make_eval_set.py                 # everything missing
    .venv/bin/python bench/make_eval_set.py --only a01_1min_1v_2t t02_5min_4t_unpunct
    .venv/bin/python bench/make_eval_set.py --list
    .venv/bin/python bench/make_eval_set.py --fixture       # tests/fixtures/unpunctuated*.json
"""
import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

from eval_set import episodes, speech, text_cases  # noqa: E402

OUT = HERE / "eval_set" / "out"
FIXTURES = ROOT / "tests" / "fixtures"


def generator_digest():
    """A digest of the code and corpus that make the episodes: a change makes them again."""
    digest = hashlib.sha256()
    for path in sorted((HERE / "eval_set").glob("*.py")):
        if path.name not in ("evaluate.py", "metrics.py"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def up_to_date(item, folder):
    """Whether `folder` already holds this shape's episode, made by this generator."""
    truth = folder / "truth.json"
    if not truth.is_file():
        return False
    try:
        stored = json.loads(truth.read_text())
    except ValueError:
        return False
    ready = (folder / ("audio.m4a" if item["kind"] == "audio" else "transcript.json")).is_file()
    if item["kind"] == "audio" and speech.espeak_available():
        # an mbrola voice installed (or removed) since changes the audio
        voices = sorted({speech.usable_voice(key)["voice"] for key in item["voices"]})
        ready = ready and stored.get("voices") == voices
    return (ready and stored.get("spec") == json.loads(json.dumps(item))
            and stored.get("generator") == generator_digest())


def chosen_specs(names=None):
    specs = episodes.every_spec()
    if names:
        unknown = set(names) - {s["name"] for s in specs}
        if unknown:
            raise SystemExit(f"unknown episodes: {', '.join(sorted(unknown))}")
        specs = [s for s in specs if s["name"] in names]
    return specs


def generate(names=None, force=False, log=print):
    """Make the chosen episodes that are missing; returns {name: folder} of those present.
    Audio episodes are left out, with a note, where espeak-ng is not installed."""
    present, can_speak = {}, speech.espeak_available()
    started = time.monotonic()
    for item in chosen_specs(names):
        folder = OUT / item["name"]
        if not force and up_to_date(item, folder):
            present[item["name"]] = folder
            continue
        if item["kind"] == "audio" and not can_speak:
            log(f"{item['name']}: espeak-ng is not installed; left out")
            continue
        began = time.monotonic()
        render = speech.render if item["kind"] == "audio" else text_cases.render
        truth = render(item, folder)
        truth["generator"] = generator_digest()
        (folder / "truth.json").write_text(json.dumps(truth, indent=1))
        log(f"{item['name']}: {truth['duration'] / 60:.1f} min, {len(truth['topics'])} topics "
            f"({truth['shape']}) in {time.monotonic() - began:.1f} s")
        present[item["name"]] = folder
    log(f"evaluation set ready in {time.monotonic() - started:.1f} s: {len(present)} cases in {OUT}")
    return present


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these episodes")
    parser.add_argument("--force", action="store_true", help="make them again even if present")
    parser.add_argument("--list", action="store_true", help="list the shapes and stop")
    parser.add_argument("--fixture", action="store_true",
                        help="write tests/fixtures/unpunctuated.json and unpunctuated_truth.json")
    parser.add_argument("--fixture-dir", type=Path, default=FIXTURES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.list:
        for item in chosen_specs(args.only):
            print(f"{item['name']:36} {item['kind']:5} {item['minutes']:>4} min  "
                  f"{episodes.shape_label(item)}")
        return
    if args.fixture:
        transcript, truth = text_cases.write_fixture(args.fixture_dir)
        words = sum(len(s["words"]) for s in transcript["segments"])
        print(f"{args.fixture_dir}/unpunctuated.json: {truth['duration']:.1f} s, {words} words, "
              f"topics {', '.join(t['name'] for t in truth['topics'])}, "
              f"changes at {truth['topic_changes']}")
        return
    generate(args.only, args.force)


if __name__ == "__main__":
    main()
