"""Run history: the list of runs, one run's stages, timings, outputs, insights and report, its
files, and the insights as JSON for the live monitor."""
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.security import safe_join

from orchestration.review import has_selection
from routes.errors import unknown_run
from routes.insights import insights_json, load_insights, render_markdown
from routes.transcript_data import has_transcript, load_transcript
from services import presets
from services.engine.checkpoints import list_outputs
from services.formatting import format_clock, human_bytes
from services.podcast.identity import read_publication
from services.stages import STAGES, get_stage
from storage.database import db
from storage.models import ACTIVE_STATES, FINISHED_STATES, RESUMABLE_STATES, Run, utcnow

bp = Blueprint("runs", __name__)
PAGE_SIZE = 20
REPORT_FILE = "report.html"
CHART_WIDTH = 400   # SVG units; the label sits above each bar so phones can read it too
CHART_ROW = 44
# Files a run writes that are served as they are (anything else is offered as a download).
INLINE_TYPES = (".txt", ".srt", ".vtt", ".json", ".md", ".html", ".wav", ".flac", ".m4a",
                ".mp3", ".mp4", ".webm", ".ogg", ".opus")
# The episode types, fixed: Python's own table has no .m4a (it reads the system's mime.types).
MEDIA_TYPES = {".m4a": "audio/mp4", ".mp3": "audio/mpeg"}


@bp.app_template_filter("clock")
def clock(seconds):
    """Seconds as MM:SS, or H:MM:SS past an hour; an em dash when unknown."""
    return format_clock(seconds, unknown="—")


@bp.app_template_filter("markdown")
def markdown(text):
    """Markdown from a run's files as HTML: raw HTML escaped, unsafe links left as text."""
    return render_markdown(text)


@bp.app_template_filter("filesize")
def filesize(count):
    """A byte count in B, KiB, MiB or GiB."""
    return human_bytes(count)


def _find_run(session_id):
    """The run with this session id, or a 404 page."""
    run = db.session.scalar(db.select(Run).where(Run.session_id == session_id))
    if run is None:
        abort(404, "There is no run with this id.")
    return run


def _episode_folder(run):
    """The run's episode folder (it may not exist)."""
    return Path(current_app.extensions["pipeline"].episodes_root) / run.episode_dir


def _stage_rows(run):
    """Each selected stage with its state and duration (a running stage's time so far)."""
    rows = []
    now = utcnow().replace(tzinfo=None)
    for stage_run in run.stage_runs:
        duration = stage_run.duration
        if duration is None and stage_run.started_at and stage_run.state == "running":
            duration = max((now - stage_run.started_at.replace(tzinfo=None)).total_seconds(), 0.0)
        definition = get_stage(stage_run.stage)
        rows.append({"number": stage_run.stage, "name": definition.name,
                     "state": stage_run.state, "duration": duration, "error": stage_run.error})
    return rows


def _chart(rows):
    """Bars for the stage-duration chart: y position, width and label of each stage."""
    longest = max((row["duration"] or 0 for row in rows), default=0) or 1
    room = CHART_WIDTH - 60  # space for the duration after the longest bar
    bars = []
    for index, row in enumerate(rows):
        width = (row["duration"] or 0) / longest * room
        bars.append(dict(row, y=index * CHART_ROW, width=max(width, 2 if row["duration"] else 0)))
    return {"bars": bars, "width": CHART_WIDTH, "height": max(len(rows), 1) * CHART_ROW}


def page_number():
    """The list page asked for by `?page=` (ASCII digits, 1 or more), else 1."""
    page = request.args.get("page", "1")
    # isascii(): str.isdigit() also takes "²", which int() refuses
    return int(page) if page.isascii() and page.isdigit() and len(page) < 7 and int(page) > 0 else 1


@bp.get("/runs")
def index():
    """The run history, newest first, PAGE_SIZE runs a page."""
    page = page_number()
    total = db.session.scalar(db.select(db.func.count(Run.id)))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    runs = db.session.scalars(db.select(Run).order_by(Run.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("runs/index.html", runs=runs, page=page, pages=pages, total=total,
                           stage_names={s.number: s.name for s in STAGES})


@bp.get("/runs/<run_id:session_id>")
def detail(session_id):
    """One run: stage durations as a chart, summary and chapters, outputs and report."""
    run = _find_run(session_id)
    rows = _stage_rows(run)
    folder = _episode_folder(run)
    outputs = list_outputs(folder)
    has_report = any(output["name"] == REPORT_FILE for output in outputs)
    return render_template("runs/detail.html", run=run, rows=rows, chart=_chart(rows),
                           outputs=outputs, has_report=has_report,
                           insights=load_insights(folder),
                           active=run.state in ACTIVE_STATES,
                           resumable=run.state in RESUMABLE_STATES,
                           settings=run_settings(run),
                           can_reselect=run.state in FINISHED_STATES and has_selection(folder),
                           batch=current_app.extensions["batches"].store.batch_of(session_id),
                           publication=read_publication(folder))


@bp.get("/api/runs/<run_id:session_id>/insights")
def insights(session_id):
    """The run's summary, chapters, keywords and highlights (empty when not made yet)."""
    run = run_or_none(session_id)
    if run is None:
        return unknown_run()
    return jsonify(insights_json(_episode_folder(run)))


@bp.get("/api/runs/<run_id:session_id>/transcript")
def transcript(session_id):
    """The run's timed sentences and chapters, and the URL of its audio (None when missing)."""
    run = run_or_none(session_id)
    if run is None:
        return unknown_run()
    folder = _episode_folder(run)
    found = load_insights(folder)
    audio = (url_for("runs.file", session_id=run.session_id, name=found["audio"])
             if found["audio"] else None)
    chapters = [{key: chapter[key] for key in ("start", "end", "title")}
                for chapter in found["chapters"]]
    return jsonify(dict(load_transcript(folder), chapters=chapters, audio=audio))


@bp.app_template_global("has_transcript")
def run_has_transcript(run):
    """Whether the run page shows the transcript viewer."""
    return has_transcript(_episode_folder(run))


def run_settings(run):
    """The preset fields the run used, labelled, for its page (older runs: none stored)."""
    fields = presets.FIELDS_BY_NAME
    return [(fields[name].label, value) for name, value in (run.settings or {}).items()
            if name in fields]


def run_or_none(session_id):
    """The run with this session id, or None (for the JSON routes)."""
    return db.session.scalar(db.select(Run).where(Run.session_id == session_id))


@bp.get("/runs/<run_id:session_id>/files/<path:name>")
def file(session_id, name):
    """A file from the run's episode folder; 404 for anything outside it or hidden."""
    run = _find_run(session_id)
    folder = _episode_folder(run)
    if any(part.startswith(".") for part in name.split("/")) or safe_join(str(folder), name) is None:
        abort(404)
    as_attachment = not name.lower().endswith(INLINE_TYPES)
    response = send_from_directory(folder, name, as_attachment=as_attachment, max_age=0,
                                   mimetype=MEDIA_TYPES.get(Path(name).suffix.lower()))
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A report is HTML the pipeline wrote from outside text: show it without running scripts.
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src 'self'")
    return response
