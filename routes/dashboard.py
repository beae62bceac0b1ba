"""The dashboard: URL form, stage choice, the live view and recent runs."""
from flask import Blueprint, render_template, request

from routes.doctor import failing_components
from services import presets
from services.stages import STAGES
from storage import presets as preset_store
from storage.database import db
from storage.models import ACTIVE_STATES, SESSION_ID_LENGTH, Run

bp = Blueprint("dashboard", __name__)
RECENT_RUNS = 10
# The preset a new visitor's form starts with: people come for an episode.
DEFAULT_PRESET = "Full episode"
# The preset fields the dashboard offers to change for one run.
OVERRIDES = ("clip_count", "review_segments", "episode_mode", "language", "loudness_lufs",
             "output_format")


def render_dashboard(form=None, error=None):
    """The dashboard page, with the submitted form and its error when there is one."""
    recent = db.session.scalars(db.select(Run).order_by(Run.id.desc()).limit(RECENT_RUNS)).all()
    session_id = request.args.get("session", "")[:SESSION_ID_LENGTH]
    if not session_id and recent and recent[0].state in ACTIVE_STATES:
        session_id = recent[0].session_id
    saved = preset_store.all_presets()
    if not form:
        starting = next((preset for preset in saved if preset.name == DEFAULT_PRESET), None)
        form = {"preset": starting.name, "selected_stages": list(map(str, starting.stages))} \
            if starting else {}
    selected = form.get("selected_stages") or ["1", "2"]
    if isinstance(selected, str):
        selected = [part.strip() for part in selected.split(",")]
    return render_template(
        "dashboard/index.html",
        stages=STAGES,
        selected={str(item) for item in selected},
        form=form,
        error=error,
        recent=recent,
        session_id=session_id,
        failing=failing_components(),
        presets=saved,
        override_fields=[presets.FIELDS_BY_NAME[name] for name in OVERRIDES],
        overrides=form.get("options") or {},
    )


@bp.get("/")
def index():
    """The dashboard page."""
    return render_dashboard()
