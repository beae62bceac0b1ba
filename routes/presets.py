"""Presets: list, create, edit, duplicate, delete, import and export (pages and JSON API)."""
import json

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from routes.errors import api_error
from services import presets, speech_models
from services.stages import STAGES
from storage import presets as preset_store

bp = Blueprint("presets", __name__)
PRESET_ID = "<int(max=2147483647):preset_id>"
MAX_IMPORT_BYTES = 256 * 1024


def _data_dir():
    return current_app.config["PIPELINE"]["data_dir"]


def _asset_exists(name):
    from services.assets import exists

    return exists(_data_dir(), name)


def _models_dir():
    return speech_models.models_folder(current_app.config["PIPELINE"])


def _asset_names():
    from services.assets import list_assets

    return [asset["name"] for asset in list_assets(_data_dir())]


def _check(data):
    """(name, description, stages, values, errors) from a submitted preset."""
    name, description, errors = presets.validate_name(data.get("name"), data.get("description"))
    fields = {key: value for key, value in data.items() if key not in ("name", "description")}
    values, field_errors = presets.validate(fields, _asset_exists, models_dir=_models_dir())
    errors.update(field_errors)
    return name, description, values.pop(presets.STAGES_FIELD, None), values, errors


def _form_data():
    """The preset form as the dict `_check` reads (checkboxes become the stage list)."""
    data = {key: request.form.get(key) for key in request.form
            if key not in ("csrf_token", presets.STAGES_FIELD)}
    data[presets.STAGES_FIELD] = request.form.getlist(presets.STAGES_FIELD)
    return data


def as_json(preset):
    """A stored preset for the API."""
    return {"id": preset.id, "name": preset.name, "description": preset.description,
            "stages": preset.stages, "settings": preset.settings}


def _render_form(preset=None, form=None, errors=None, status=200):
    config_values = presets.field_values(current_app.config["PIPELINE"])
    if form is None:
        form = {"name": preset.name, "description": preset.description,
                presets.STAGES_FIELD: preset.stages, **(preset.settings or {})} if preset else {
            presets.STAGES_FIELD: [1, 2]}
        if preset is not None and errors is None:  # say so when an asset it uses was deleted
            _, _, _, _, errors = _check(form)
    form_stages = form.get(presets.STAGES_FIELD) or []
    return render_template("presets/form.html", preset=preset, form=form, errors=errors or {},
                           fields=presets.FIELDS, stages=STAGES,
                           chosen={str(n) for n in form_stages} if isinstance(form_stages, list) else set(),
                           config_values=config_values, assets=_asset_names()), status


# --- pages ---------------------------------------------------------------------------------
@bp.get("/presets")
def index():
    """Every preset with its stages and what it changes."""
    return render_template("presets/index.html", presets=preset_store.all_presets(),
                           fields=presets.FIELDS_BY_NAME, import_errors={})


@bp.get("/presets/new")
def new():
    """An empty preset form."""
    return _render_form()


@bp.post("/presets")
def create():
    """Store a new preset from the form; errors are shown next to their fields."""
    form = _form_data()
    name, description, stages, values, errors = _check(form)
    if not errors:
        try:
            preset = preset_store.save(None, name, description, stages, values)
        except presets.PresetInvalid as exc:
            errors = exc.errors
        else:
            return redirect(url_for("presets.index", saved=preset.id), code=303)
    return _render_form(form=form, errors=errors, status=400)


@bp.get(f"/presets/{PRESET_ID}")
def edit(preset_id):
    """The form of one preset."""
    preset = preset_store.get(preset_id) or abort(404)
    return _render_form(preset)


@bp.post(f"/presets/{PRESET_ID}")
def update(preset_id):
    """Change a preset from the form; bad values are shown and nothing is stored."""
    preset = preset_store.get(preset_id) or abort(404)
    form = _form_data()
    name, description, stages, values, errors = _check(form)
    if not errors:
        try:
            preset_store.save(preset, name, description, stages, values)
        except presets.PresetInvalid as exc:
            errors = exc.errors
        else:
            return redirect(url_for("presets.index", saved=preset.id), code=303)
    return _render_form(preset, form=form, errors=errors, status=400)


@bp.post(f"/presets/{PRESET_ID}/duplicate")
def duplicate(preset_id):
    """A copy of a preset under a free name, opened for editing."""
    preset = preset_store.get(preset_id) or abort(404)
    copy = preset_store.save(None, preset_store.free_name(f"{preset.name} (copy)"),
                             preset.description, preset.stages, preset.settings)
    return redirect(url_for("presets.edit", preset_id=copy.id), code=303)


@bp.post(f"/presets/{PRESET_ID}/delete")
def delete(preset_id):
    """Remove a preset; runs that used it keep their settings."""
    preset = preset_store.get(preset_id) or abort(404)
    preset_store.delete(preset)
    return redirect(url_for("presets.index"), code=303)


@bp.get(f"/presets/{PRESET_ID}/export")
@bp.get(f"/api/presets/{PRESET_ID}/export")
def export(preset_id):
    """The preset as a JSON file that import reads back."""
    preset = preset_store.get(preset_id)
    if preset is None:
        return _unknown_preset()
    document = presets.export(preset.name, preset.description, preset.stages, preset.settings)
    response = current_app.response_class(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="preset-{preset.id}.json"'
    return response


def _import(document):
    """Store an exported preset (under a free name); returns (preset, errors)."""
    try:
        name, description, stages, values = presets.read_import(document, _asset_exists, _models_dir())
        return preset_store.save(None, preset_store.free_name(name), description, stages, values), {}
    except presets.PresetInvalid as exc:
        return None, exc.errors


@bp.post("/presets/import")
def import_form():
    """Import a preset from an uploaded JSON file or pasted JSON text."""
    upload = request.files.get("file")
    text = upload.read(MAX_IMPORT_BYTES + 1) if upload and upload.filename else (
        request.form.get("document") or "").encode("utf-8", "replace")
    errors = {}
    if not text.strip():
        errors = {"file": "Choose an exported preset file or paste its JSON."}
    elif len(text) > MAX_IMPORT_BYTES:
        errors = {"file": "The file is too large to be a preset export."}
    else:
        try:
            document = current_app.json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            errors = {"file": "The file is not JSON."}
        else:
            preset, errors = _import(document)
            if preset is not None:
                return redirect(url_for("presets.edit", preset_id=preset.id), code=303)
    return render_template("presets/index.html", presets=preset_store.all_presets(),
                           fields=presets.FIELDS_BY_NAME, import_errors=errors), 400


# --- JSON API --------------------------------------------------------------------------------
def _json_body():
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return None, api_error(400, "invalid_body", "Send the preset as a JSON object.", "body")
    return data, None


def _field_error(errors):
    field, message = next(iter(errors.items()))
    response = api_error(400, "invalid_preset", message, field)
    body = response.get_json()
    body["errors"] = errors
    response.set_data(json.dumps(body))
    return response


@bp.get("/api/presets")
def api_list():
    """Every preset."""
    return jsonify({"presets": [as_json(p) for p in preset_store.all_presets()],
                    "fields": [field.name for field in presets.FIELDS]})


def _save_json(preset, status):
    """Store the JSON body as a new (preset None) or changed preset."""
    data, error = _json_body()
    if error:
        return error
    name, description, stages, values, errors = _check(data)
    if not errors:
        try:
            return jsonify(as_json(preset_store.save(preset, name, description, stages, values))), status
        except presets.PresetInvalid as exc:
            errors = exc.errors
    return _field_error(errors)


@bp.post("/api/presets")
def api_create():
    """Create a preset from {name, description, stages, <fields>} → 201."""
    return _save_json(None, 201)


def _unknown_preset():
    return api_error(404, "unknown_preset", "There is no preset with this id.", "preset_id")


@bp.get(f"/api/presets/{PRESET_ID}")
def api_get(preset_id):
    """One preset."""
    preset = preset_store.get(preset_id)
    return jsonify(as_json(preset)) if preset else _unknown_preset()


@bp.put(f"/api/presets/{PRESET_ID}")
def api_update(preset_id):
    """Replace a preset's name, description, stages and fields."""
    preset = preset_store.get(preset_id)
    return _save_json(preset, 200) if preset else _unknown_preset()


@bp.delete(f"/api/presets/{PRESET_ID}")
def api_delete(preset_id):
    """Delete a preset."""
    preset = preset_store.get(preset_id)
    if preset is None:
        return _unknown_preset()
    preset_store.delete(preset)
    return jsonify({"deleted": preset_id})


@bp.post("/api/presets/import")
def api_import():
    """Store an exported preset document → 201 with the stored preset."""
    data, error = _json_body()
    if error:
        return error
    preset, errors = _import(data)
    if preset is None:
        return _field_error(errors)
    return jsonify(as_json(preset)), 201
