"""Audio assets at /assets: upload checked by probing, list, play, delete, hostile names, limits."""
import io
import os
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from services import assets
from services.media.ffmpeg import ffmpeg_path
from tests.conftest import FIXTURES
from tests.server_support import csrf_token

JSON = {"Accept": "application/json"}


def _tone(path, seconds, codec_args=("-c:a", "libmp3lame", "-b:a", "64k"), channels=1):
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", "-ac", str(channels),
                    *codec_args, "-y", str(path)], check=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def tone_mp3(tmp_path_factory):
    """The bytes of a real 1.5 s MP3."""
    return _tone(tmp_path_factory.mktemp("tones") / "tone.mp3", 1.5)


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory):
    """The bytes of a real 1.5 s 44.1 kHz mono WAV (about 132 KB)."""
    return _tone(tmp_path_factory.mktemp("tones") / "tone.wav", 1.5, ("-c:a", "pcm_s16le"))


@pytest.fixture
def folder(app):
    """The assets folder of the live app."""
    return assets.assets_dir(app.config["PIPELINE"]["data_dir"])


def _everything(folder):
    """Every entry of the assets folder, hidden ones included."""
    return set(os.listdir(folder)) if folder.is_dir() else set()


def _upload(client, content, filename, headers=None, token=None):
    form = {"csrf_token": token or csrf_token(client, "/assets"), "file": (io.BytesIO(content), filename)}
    return client.post("/assets", data=form, content_type="multipart/form-data",
                       headers=headers or {})


def _listed(client):
    return {a["name"]: a for a in client.get("/api/assets").get_json()["assets"]}


def test_upload_list_play_and_delete_through_the_page(client, folder, tone_mp3):
    stem = f"Intro {uuid.uuid4().hex[:6]}"
    answer = _upload(client, tone_mp3, f"{stem}.mp3")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    name = f"{stem.replace(' ', '-')}.mp3"
    assert answer.headers["Location"].startswith("/assets?added=")

    listed = _listed(client)[name]
    assert listed["size"] == len(tone_mp3) and listed["codec"] == "mp3"
    assert abs(listed["duration"] - 1.5) < 0.1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed["modified"])
    assert (folder / name).read_bytes() == tone_mp3

    page = client.get(f"/assets?added={quote(name)}").get_data(as_text=True)
    assert f'<audio controls preload="none" src="/assets/{quote(name)}"' in page
    assert f'data-asset="{name}" class="just-saved"' in page
    assert re.search(r'href="/assets"\s+aria-current="page">Assets</a>', page)

    played = client.get(f"/assets/{quote(name)}")
    assert played.status_code == 200 and played.data == tone_mp3
    assert played.mimetype == "audio/mpeg"
    assert played.headers["X-Content-Type-Options"] == "nosniff"
    part = client.get(f"/assets/{quote(name)}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == tone_mp3[:100]

    gone = client.post(f"/assets/{quote(name)}/delete", data={"csrf_token": csrf_token(client, "/assets")})
    assert gone.status_code == 303 and gone.headers["Location"] == "/assets"
    assert name not in _listed(client) and not (folder / name).exists()
    assert client.get(f"/assets/{quote(name)}").status_code == 404


def test_json_upload_names_by_probed_format_and_keeps_names_unique(client, app, folder):
    content = (FIXTURES / "two_voices.m4a").read_bytes()
    stem = f"two voices {uuid.uuid4().hex[:6]}"
    first = _upload(client, content, f"{stem}.bin", headers=JSON)
    assert first.status_code == 201, first.get_json()
    asset = first.get_json()["asset"]
    assert asset["name"] == f"{stem.replace(' ', '-')}.m4a"  # extension from the probed format
    assert asset["codec"] == "aac" and abs(asset["duration"] - 42.38) < 0.1
    second = _upload(client, content, f"{stem}.m4a", headers=JSON).get_json()["asset"]
    assert second["name"] == f"{stem.replace(' ', '-')}-2.m4a"
    data_dir = app.config["PIPELINE"]["data_dir"]
    assert assets.exists(data_dir, asset["name"]) and assets.exists(data_dir, second["name"])
    assert client.get(f"/assets/{quote(second['name'])}").mimetype == "audio/mp4"

    for stored in (asset, second):
        answer = client.delete(f"/api/assets/{quote(stored['name'])}", json={})
        assert answer.status_code == 200 and answer.get_json() == {"deleted": stored["name"]}
        assert not assets.exists(data_dir, stored["name"])
    again = client.delete(f"/api/assets/{quote(asset['name'])}", json={})
    assert again.status_code == 404
    assert again.get_json()["error"]["code"] == "not_found"
    form_delete = client.post(f"/assets/{quote(asset['name'])}/delete", headers=JSON, json={})
    assert form_delete.status_code == 404 and form_delete.get_json()["error"]["field"] == "name"


@pytest.mark.parametrize("content", [b"ID3 this is only text that claims to be an MP3\n" * 50,
                                     b"\xff\xfb\x90\x00" + b"\x00" * 4000, b""])
def test_a_file_that_is_not_audio_is_refused_and_nothing_is_left(client, folder, content):
    before = _everything(folder)
    page = _upload(client, content, "notes.mp3")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert 'role="alert" data-field="file">' in text
    assert "not audio that can be played" in text or "The file is empty." in text
    answer = _upload(client, content, "notes.mp3", headers=JSON)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] in ("not_audio", "empty_file") and error["field"] == "file"
    assert _everything(folder) == before  # no temporary file either


def test_an_upload_without_a_file_or_token_is_refused(client, folder, tone_mp3):
    before = _everything(folder)
    missing = client.post("/assets", data={"csrf_token": csrf_token(client, "/assets")},
                          content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose an audio file" in missing.get_data(as_text=True)
    forged = _upload(client, tone_mp3, "forged.mp3", token="forged")
    assert forged.status_code == 403
    assert _everything(folder) == before


HOSTILE_UPLOAD_NAMES = ["../x.mp3", "../../secret_key", ".hidden.mp3", "a/b.mp3", "a\\b.mp3",
                        "x\x00y.mp3", "a" * 500 + ".mp3", "音楽のイントロ.mp3", "é" * 300,
                        "\u202e3pm.exe", "..", ".", "  ", "CON.mp3", "tab\there.mp3"]


@pytest.mark.parametrize("filename", HOSTILE_UPLOAD_NAMES)
def test_hostile_upload_names_stay_inside_the_folder(client, app, folder, tone_mp3, filename):
    data_dir = Path(app.config["PIPELINE"]["data_dir"])
    outside = set(os.listdir(data_dir)), set(os.listdir(data_dir.parent))
    answer = _upload(client, tone_mp3, filename, headers=JSON)
    assert answer.status_code == 201, answer.get_json()
    name = answer.get_json()["asset"]["name"]
    try:
        assert assets.valid_name(name) and len(name) <= assets.MAX_NAME
        assert name.endswith(".mp3") and not name.startswith(".")
        assert (folder / name).resolve().parent == folder and (folder / name).is_file()
        assert (set(os.listdir(data_dir)), set(os.listdir(data_dir.parent))) == outside
        assert client.get(f"/assets/{quote(name)}").data == tone_mp3
    finally:
        client.delete(f"/api/assets/{quote(name)}", json={})
    assert not (folder / name).exists()


HOSTILE_PATHS = ["..%2Fsecret_key", "..%2F..%2Fetc%2Fpasswd", ".hidden.mp3", "a%2Fb.mp3",
                 "a%5Cb.mp3", "x%00y.mp3", "a" * 5000, "%E2%80%AEx.mp3", "%2e%2e", "%20x.mp3",
                 "e%CC%81.mp3"]  # the last one: "é" not in NFC


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_names_in_urls_are_not_found(client, folder, path):
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / ".hidden.mp3"
    hidden.write_bytes(b"hidden")
    try:
        assert client.get(f"/assets/{path}").status_code == 404
        deleted = client.delete(f"/api/assets/{path}", json={})
        assert deleted.status_code in (404, 405)
        assert deleted.get_json()["error"]["code"] in ("not_found", "method_not_allowed")
        form = client.post(f"/assets/{path}/delete", data={"csrf_token": csrf_token(client, "/assets")})
        assert form.status_code in (404, 405)
        assert hidden.read_bytes() == b"hidden"
        assert (Path(folder).parent / "secret_key").is_file()
    finally:
        hidden.unlink()


def test_asset_names_are_checked_before_any_file_is_touched(tmp_path):
    root = assets.assets_dir(tmp_path)
    root.mkdir()
    (root / "ok.mp3").write_bytes(b"x")
    (tmp_path / "outside.mp3").write_bytes(b"x")
    (root / "link.mp3").symlink_to(tmp_path / "outside.mp3")
    assert assets.asset_path(tmp_path, "ok.mp3") == root / "ok.mp3"
    for name in ("../outside.mp3", "link.mp3", ".ok.mp3", "ok.mp3/", "/ok.mp3", "ok.mp3\x00",
                 " ok.mp3", "ok.mp3 ", "", None, 5, "x" * 121, "e\u0301.mp3", "a\tb.mp3"):
        assert assets.asset_path(tmp_path, name) is None, name
        assert not assets.exists(tmp_path, name)
    with pytest.raises(assets.AssetError) as refused:
        assets.delete_asset(tmp_path, "../outside.mp3")
    assert refused.value.code == "not_found" and (tmp_path / "outside.mp3").exists()
    assert [a["name"] for a in assets.list_assets(tmp_path)] == ["ok.mp3"]
    assert assets.list_assets(tmp_path)[0]["codec"] is None  # listed, but not audio
    assert assets.list_assets(tmp_path / "none") == []


def test_uploads_past_the_one_mebibyte_app_limit_are_accepted(client, folder, tmp_path):
    content = _tone(tmp_path / "long.wav", 12, ("-c:a", "pcm_s16le"), channels=2)
    assert len(content) > 2 * 1024 * 1024
    answer = _upload(client, content, "long bed.wav", headers=JSON)
    assert answer.status_code == 201, answer.get_json()
    asset = answer.get_json()["asset"]
    assert asset["size"] == len(content) and abs(asset["duration"] - 12) < 0.1
    assert client.delete(f"/api/assets/{quote(asset['name'])}", json={}).status_code == 200


@pytest.mark.parametrize("limit_mb", [0.05, 0.1])  # refused by the request's length / by counting
def test_an_upload_over_the_limit_is_refused(client, app, folder, tone_wav, monkeypatch, limit_mb):
    monkeypatch.setitem(app.config["PIPELINE"]["limits"], "max_asset_mb", limit_mb)
    before = _everything(folder)
    answer = _upload(client, tone_wav, "too big.wav", headers=JSON)
    assert answer.status_code == 413
    error = answer.get_json()["error"]
    assert error["code"] == "too_large" and f"{limit_mb:g} MB" in error["message"]
    page = _upload(client, tone_wav, "too big.wav")
    assert page.status_code == 413
    assert f"larger than the {limit_mb:g} MB limit" in page.get_data(as_text=True)
    assert _everything(folder) == before


def test_the_counted_limit_holds_without_a_request_limit(tmp_path, tone_wav):
    with pytest.raises(assets.AssetError) as refused:
        assets.save_upload(tmp_path, "big.wav", io.BytesIO(tone_wav), len(tone_wav) - 1)
    assert refused.value.code == "too_large"
    assert os.listdir(assets.assets_dir(tmp_path)) == []
    stored = assets.save_upload(tmp_path, "big.wav", io.BytesIO(tone_wav), len(tone_wav))
    assert stored["name"] == "big.wav" and stored["codec"] == "pcm_s16le"
