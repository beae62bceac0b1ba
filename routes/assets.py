"""Assets: the intro, outro and music-bed files of `<data_dir>/assets` (page and JSON API)."""
import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from routes.errors import api_error
from services import assets

log = logging.getLogger(__name__)
bp = Blueprint("assets", __name__)
DEFAULT_MAX_MB = 200
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the CSRF field around the file
STATUS = {"too_large": 413, "not_found": 404}


def _data_dir():
    return current_app.config["PIPELINE"]["data_dir"]


def max_bytes():
    """The upload limit in bytes, from `limits.max_asset_mb`."""
    value = (current_app.config["PIPELINE"].get("limits") or {}).get("max_asset_mb", DEFAULT_MAX_MB)
    try:
        megabytes = float(value)
    except (TypeError, ValueError):
        megabytes = -1
    if not megabytes > 0:
        log.warning("limits.max_asset_mb %r is not a positive number; using %s", value, DEFAULT_MAX_MB)
        megabytes = DEFAULT_MAX_MB
    return int(megabytes * 1024 * 1024)


@bp.url_value_preprocessor
def _upload_limit(endpoint, values):
    """Let the upload view read a body past the app's 1 MiB limit.

    URL value preprocessors run before every before_request function, so the limit is in place
    before the CSRF check reads the form."""
    if endpoint == "assets.upload":
        request.max_content_length = max_bytes() + FORM_OVERHEAD


def _wants_json():
    if request.path.startswith("/api/"):
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _page(error=None, status=200):
    return render_template("assets/index.html", assets=assets.list_assets(_data_dir()),
                           error=error, max_mb=round(max_bytes() / (1024 * 1024), 2),
                           added=request.args.get("added")), status


def _refuse(code, message, field="file"):
    status = STATUS.get(code, 400)
    if _wants_json():
        return api_error(status, code, message, field)
    return _page(error=message, status=status)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    return _refuse("too_large", assets.too_large_message(max_bytes()))


@bp.get("/assets")
def index():
    """Every asset with a player, its length and size; the upload form."""
    return _page()


@bp.post("/assets")
def upload():
    """Store an uploaded audio file: 303 to the page, or 201 {asset} for a JSON client."""
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        return _refuse("missing_file", "Choose an audio file to upload.")
    try:
        stored = assets.save_upload(_data_dir(), upload_file.filename, upload_file.stream,
                                    max_bytes())
    except assets.AssetError as exc:
        return _refuse(exc.code, exc.message)
    except OSError as exc:
        log.error("Could not store asset %r", upload_file.filename[:120], exc_info=exc)
        return _refuse("storage_error", "The file could not be stored in the data folder.")
    if _wants_json():
        return jsonify({"asset": stored}), 201
    return redirect(url_for("assets.index", added=stored["name"]), 303)


@bp.get("/assets/<name>")
def play(name):
    """The asset file itself, for the page's players (ranges supported)."""
    path = assets.asset_path(_data_dir(), name)
    if path is None:
        abort(404, description="There is no audio asset with this name.")
    response = send_file(path, mimetype=assets.media_type(path.name), conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _delete(name):
    try:
        assets.delete_asset(_data_dir(), name)
    except assets.AssetError as exc:
        return None, _refuse(exc.code, exc.message, field="name")
    except OSError as exc:
        log.error("Could not delete asset %r", name[:120], exc_info=exc)
        return None, _refuse("storage_error", "The file could not be deleted.", field="name")
    return name, None


@bp.post("/assets/<name>/delete")
def delete(name):
    """Delete an asset: 303 back to the page, or {"deleted": name} for a JSON client."""
    deleted, refusal = _delete(name)
    if refusal is not None:
        return refusal
    if _wants_json():
        return jsonify({"deleted": deleted})
    return redirect(url_for("assets.index"), 303)


@bp.get("/api/assets")
def api_list():
    """{"assets": [{name, size, duration, codec, modified}, …]}."""
    return jsonify({"assets": assets.list_assets(_data_dir())})


@bp.delete("/api/assets/<name>")
def api_delete(name):
    """Delete an asset → {"deleted": name}."""
    deleted, refusal = _delete(name)
    return refusal if refusal is not None else jsonify({"deleted": deleted})
