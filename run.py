"""Start the dashboard, or run the pipeline headless: `python run.py process URL`."""
import argparse
import logging
import sys
from contextlib import contextmanager


def _parse(argv):
    parser = argparse.ArgumentParser(description="YouTube Pipeline Web UI")
    parser.add_argument("--host", help="address to listen on (default from config: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 5000)")
    parser.add_argument("--config", help="configuration file (default config.yaml)")
    parser.add_argument("--data-dir", help="folder for episodes and the database")
    commands = parser.add_subparsers(dest="command")
    process = commands.add_parser("process", help="run the pipeline on URL in this terminal")
    process.add_argument("url")
    process.add_argument("--preset", default="default",
                         help="a preset's name (see /presets); default: config.yaml as it is")
    process.add_argument("--stages", help="comma-separated stage numbers, e.g. 1,2 (default: the "
                         "preset's stages, or 1,2)")
    process.add_argument("--episode", help="episode folder name under <data_dir>/episodes "
                         "(for a playlist: the folder its entries' folders go in)")
    process.add_argument("--playlist", action="store_true",
                         help="expand URL as a playlist, channel or feed (recognised by itself "
                         "for YouTube playlists and channels and feed addresses)")
    process.add_argument("--items", help="a playlist's entries to run, e.g. 1-10,15")
    worker = commands.add_parser("worker", help="execute runs taken from Redis (runner: rq)")
    for sub in (process, worker):   # also accepted after the command
        sub.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
        sub.add_argument("--data-dir", default=argparse.SUPPRESS,
                         help="folder for episodes and the database")
    doctor = commands.add_parser("doctor", help="check that everything the pipeline needs works")
    doctor.add_argument("--quick", action="store_true",
                        help="leave out the slow checks (model load, solver run, DNS)")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


def _make_app(args, role="web"):
    from services.config.loading import ConfigError
    from webui import create_app

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    try:
        return create_app(overrides, config_file=args.config, role=role)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")


def process(args):
    """Run the selected stages on a URL with terminal progress bars; exit 0 when completed."""
    from orchestration.batches import batch_kind
    from orchestration.pipeline import QueueFull
    from orchestration.terminal import TerminalProgress
    from services.input_checks import ValidationError

    app = _make_app(args, role="local")
    pipeline = app.extensions["pipeline"]
    request = {"youtube_url": args.url, "selected_stages": args.stages, "preset": args.preset,
               "episode_directory": args.episode,
               "source": "playlist" if args.playlist else "auto", "playlist_items": args.items}
    try:
        with app.app_context():
            kind = batch_kind(request)
            if kind and pipeline.settings["runner"] == "rq":
                sys.exit("error: with runner: rq, give playlists to the dashboard, whose runs go "
                         "to the workers; run.py process runs one URL here.")
            started = app.extensions["batches"].submit(kind, request) if kind else None
            if started is None:
                checked = pipeline.check(request)
    except ValidationError as exc:
        sys.exit(f"error: {exc.field}: {exc.message}")
    except QueueFull as exc:
        sys.exit(f"error: {exc}")
    if started is not None:
        return _process_batch(app, started[1])
    spec = checked.spec
    bars = TerminalProgress(spec.session_id)
    pipeline.recorder.add_listener(bars)
    with _beside_workers(pipeline.settings, spec.session_id) as beside:
        # Beside RQ workers the run is stored as running (no worker may take it) and marked
        # alive, so the dashboard's watch does not take it for a lost worker's run.
        pipeline.start_checked(checked, state="running" if beside else "queued")
        try:
            while not bars.done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pipeline.cancel(spec.session_id)
            bars.done.wait(10)
        pipeline.runner.wait_idle(10)
    _print_summary(spec.episode_dir)
    print(f"episode folder: {spec.episode_dir}")
    return 0 if bars.status in ("completed", "awaiting_selection") else 1


def _process_batch(app, batch_id):
    """Follow a batch in the terminal: a bar per running entry and an overall bar; exit 0 when
    every entry completed."""
    from orchestration.terminal import BatchTerminalProgress
    from services.batches import FINAL_BATCH_STATES

    batches = app.extensions["batches"]
    with batches.recorder.locked(batch_id):   # no event between the snapshot and the listener
        snapshot = batches.snapshot(batch_id)
        bars = BatchTerminalProgress(batch_id, snapshot["entries"])
        batches.recorder.add_listener(bars)
    print(f"Batch {batch_id}: {len(snapshot['entries'])} entries of "
          f"{snapshot['source'] or snapshot['title']}", flush=True)
    if snapshot["state"] in FINAL_BATCH_STATES:
        bars.state = snapshot["state"]
        bars.done.set()
    try:
        while not bars.done.wait(0.5):
            pass
    except KeyboardInterrupt:
        batches.cancel_all(batch_id)
        bars.done.wait(15)
    app.extensions["pipeline"].runner.wait_idle(10)
    return 0 if bars.state == "completed" else 1


@contextmanager
def _beside_workers(settings, session_id):
    """With runner: rq, keep the headless run marked alive in Redis; yields whether it does."""
    if settings["runner"] != "rq":
        yield False
        return
    from services.engine.run_board import Heartbeat, RunBoard, connect, worker_name

    with Heartbeat(RunBoard(connect(settings["redis_url"])), session_id, worker_name()):
        yield True


def _print_summary(folder):
    """After a run with stage 5: the chapters and the summary, as a person would read them;
    after stage 7, the quality verdict."""
    import json

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        print(f"\nQuality verdict: {manifest['verdict']} (report: {folder / 'report.html'})")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        chapters = (folder / "chapters.txt").read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return
    if isinstance(summary, dict) and isinstance(summary.get("summary"), str):
        print(f"\nChapters:\n{chapters}\n\nSummary:\n{summary['summary']}\n")


def doctor(args):
    """Print the doctor's report; exit 1 when something fails."""
    import json

    from services.config.loading import ConfigError, load_settings
    from services.doctor.checks import FAIL, Check, format_report, run_checks, summarize

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    try:
        load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        checks = [Check("Configuration", FAIL, str(exc), "Fix the setting in config.yaml.")]
    else:
        from storage.database import db

        app = _make_app(args)
        with app.app_context():
            checks = run_checks(app.config["PIPELINE"], db.engine, quick=args.quick)
    if args.json:
        print(json.dumps({"summary": summarize(checks), "checks": [c.as_dict() for c in checks]},
                         indent=2))
    else:
        print(format_report(checks, color=sys.stdout.isatty()))
    return 1 if summarize(checks)["fail"] else 0


def serve(args):
    """Serve the dashboard: one server per data folder, which alone recovers runs."""
    from services.config.loading import ConfigError, load_settings
    from services.hosting.data_lock import FolderBusy
    from webui.access import check_bind
    from webui.serving import serve_forever, serving_app

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    try:
        server = load_settings(args.config, overrides=overrides)["server"]
        host = args.host or server["host"]
        port = args.port or server["port"]
        check_bind(host, server.get("auth_token"))
        app = serving_app(args.config, overrides)
    except (ConfigError, FolderBusy) as exc:
        sys.exit(f"error: {exc}")
    print(f"YouTube Pipeline Web UI on http://{host}:{port}", flush=True)
    serve_forever(app, host, port)
    return 0


def worker(args):
    """Execute runs taken from Redis until stopped (needs runner: rq and redis_url)."""
    from orchestration.rq_worker import work
    from services.config.loading import ConfigError, load_settings

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    try:
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    if settings["runner"] != "rq":
        sys.exit("error: a worker needs runner: rq and redis_url in the configuration "
                 "(or PIPELINE_RUNNER=rq and PIPELINE_REDIS_URL=redis://...).")
    return work(_make_app(args, role="worker"))


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.command == "process":
        logging.getLogger().handlers[0].setLevel(logging.WARNING)
        return process(args)
    if args.command == "worker":
        return worker(args)
    if args.command == "doctor":
        logging.getLogger().handlers[0].setLevel(logging.WARNING)
        return doctor(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
