"""Cover art (services/media/cover.py) and chapters, tags and cover inside episode files
(services/media/tagging.py), checked on real media read back with PyAV (libavformat, as
ffprobe reads it) and mutagen."""
import hashlib
import os
import subprocess

import av
import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from services.engine.cancel import Cancelled, CancelToken
from services.media import cover as cover_module
from services.media.cover import filter_value, make_cover, wrap_title
from services.media.ffmpeg import MediaError
from services.media.tagging import (
    clean_value,
    clip_bytes,
    embed_metadata,
    escape_value,
    prepare_chapters,
    read_metadata,
)
from tests.media_support import ffmpeg

FORMATS = ("m4a", "mp3")
ENCODERS = {"m4a": ["-c:a", "aac", "-b:a", "64k"], "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"]}
HOSTILE = "Teil 2 = Ende; #1 \\ Grüße\nzweite Zeile 😀"
CHAPTERS = [{"start": 0, "title": "Intro – Einführung"}, {"start": 4.25, "title": HOSTILE},
            {"start": 8.5, "title": "Schluss"}]
TAGS = {"title": "Épisode 7: «Größe» = 100% 😀", "artist": "Ана Müller", "album": "Der Podcast; #2",
        "date": "2024-05-06", "comment": "Zeile 1\nZeile 2 \\ = ; #", "genre": "Talk",
        "language": "de-DE"}
HOSTILE_TITLE = "'a:b\\c%{pts}[x];\"q\"" + "Ünïcødé 日本語 😀 " * 20


def make(args, path):
    """Run ffmpeg quietly to make `path`."""
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)],
                   check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """12 s of tone as .m4a and .mp3, and 16:9 and 4:3 test pictures."""
    folder = tmp_path_factory.mktemp("media")
    files = {fmt: make(["-f", "lavfi", "-i", "sine=frequency=440:duration=12", *ENCODERS[fmt]],
                       folder / f"tone.{fmt}") for fmt in FORMATS}
    for name, size in (("wide.jpg", "1280x720"), ("wide.webp", "1280x720"), ("big.jpg", "4000x3000")):
        files[name] = make(["-f", "lavfi", "-i", f"testsrc=size={size}", "-frames:v", "1"],
                           folder / name)
    return files


def audio_fingerprint(path):
    """(codec, bit rate, packet count, hash of the packets) of the first audio stream."""
    digest, count = hashlib.sha256(), 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        codec, bit_rate = stream.codec_context.name, stream.bit_rate
        for packet in container.demux(stream):
            if packet.size:
                digest.update(bytes(packet))
                count += 1
    return codec, bit_rate, count, digest.hexdigest()


def picture_info(path):
    """(codec, width, height, pixel format) of a picture, read with PyAV."""
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        return context.name, context.width, context.height, context.pix_fmt


def leftovers(folder):
    """Temporary files the modules could have left in `folder`."""
    return [name for name in os.listdir(folder) if name.startswith((".tags-", ".tagging-", ".cover-"))]


@pytest.fixture(scope="module")
def tagged(media, tmp_path_factory):
    """Each format tagged with TAGS, CHAPTERS and a cover made from the 16:9 picture."""
    folder = tmp_path_factory.mktemp("tagged")
    art = make_cover(folder / "cover.jpg", CancelToken(), image=media["wide.jpg"])
    results = {}
    for fmt in FORMATS:
        target = folder / f"episode.{fmt}"
        results[fmt] = embed_metadata(media[fmt], target, CancelToken(), tags=TAGS,
                                      chapters=CHAPTERS, cover=folder / "cover.jpg")
    return folder, art, results


@pytest.mark.parametrize("fmt", FORMATS)
def test_chapters_read_back_as_libavformat_shows_them(tagged, fmt):
    folder, _, results = tagged
    assert results[fmt]["chapters"] == 3
    found = read_metadata(folder / f"episode.{fmt}")["chapters"]
    assert [chapter["title"] for chapter in found] == [chapter["title"] for chapter in CHAPTERS]
    for chapter, asked in zip(found, CHAPTERS):
        assert abs(chapter["start"] - asked["start"]) < 0.1
    assert [chapter["end"] for chapter in found[:-1]] == [chapter["start"] for chapter in found[1:]]
    assert abs(found[-1]["end"] - 12.0) < 0.1


def test_m4a_carries_nero_chapters_too(tagged):
    folder, _, _ = tagged
    chapters = MP4(folder / "episode.m4a").chapters
    assert [(round(chapter.start, 2), chapter.title) for chapter in chapters] == [
        (asked["start"], asked["title"]) for asked in CHAPTERS]


def test_mp3_carries_id3_chapter_frames(tagged):
    folder, _, _ = tagged
    tags = ID3(folder / "episode.mp3")
    assert tags.version[:2] == (2, 3)
    chapters = tags.getall("CHAP")
    assert sorted((chapter.start_time, chapter.sub_frames["TIT2"].text[0]) for chapter in chapters) \
        == [(round(asked["start"] * 1000), asked["title"]) for asked in CHAPTERS]
    toc = tags.getall("CTOC")[0]
    assert len(toc.child_element_ids) == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_tags_read_back_exactly(tagged, fmt):
    folder, _, results = tagged
    tags = read_metadata(folder / f"episode.{fmt}")["tags"]
    expected = {**TAGS, "language": "deu"}
    assert tags == expected
    assert results[fmt]["tags"] == sorted(expected)


def test_mp3_comment_is_a_comm_frame(tagged):
    folder, _, _ = tagged
    tags = ID3(folder / "episode.mp3")
    assert [frame.text[0] for frame in tags.getall("COMM")] == [TAGS["comment"]]
    assert not tags.getall("TXXX:comment")


@pytest.mark.parametrize("fmt", FORMATS)
def test_cover_is_attached_as_jpeg(tagged, fmt):
    folder, _, results = tagged
    path = folder / f"episode.{fmt}"
    size = os.path.getsize(folder / "cover.jpg")
    assert read_metadata(path)["cover"] == {"mime": "image/jpeg", "bytes": size}
    assert results[fmt]["cover"] == "image/jpeg"
    if fmt == "m4a":
        data = bytes(MP4(path).tags["covr"][0])
    else:
        pictures = ID3(path).getall("APIC")
        assert [picture.type for picture in pictures] == [3]     # front cover
        data = pictures[0].data
    assert data.startswith(b"\xff\xd8\xff") and len(data) == size
    with av.open(str(path)) as container:
        pictures = [stream for stream in container.streams.video]
        assert len(pictures) == 1 and pictures[0].disposition & av.stream.Disposition.attached_pic


@pytest.mark.parametrize("fmt", FORMATS)
def test_audio_is_copied_not_re_encoded(media, tagged, fmt):
    folder, _, _ = tagged
    assert audio_fingerprint(folder / f"episode.{fmt}") == audio_fingerprint(media[fmt])
    assert leftovers(folder) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_first_chapter_after_zero_and_chapters_past_the_end(media, tmp_path, fmt):
    target = tmp_path / f"late.{fmt}"
    long_title = "ü" * 300
    result = embed_metadata(media[fmt], target, CancelToken(), tags={}, chapters=[
        {"start": 2.5, "title": long_title}, {"start": 6, "title": ""}, {"start": 30, "title": "x"}])
    assert result == {"tags": [], "chapters": 2, "cover": None}
    found = read_metadata(target)
    assert found["cover"] is None and found["tags"] == {}
    titles = [chapter["title"] for chapter in found["chapters"]]
    assert len(titles[0].encode("utf-8")) <= 255 and titles[0].endswith("…")
    assert titles[1] == "Chapter 2"
    # a QuickTime chapter track starts at 0; an mp3's CHAP frames keep the time given
    assert found["chapters"][0]["start"] == (0.0 if fmt == "m4a" else 2.5)
    if fmt == "m4a":
        assert round(MP4(target).chapters[0].start, 2) == 2.5


def test_ffmetadata_values_are_escaped_and_cleaned():
    assert escape_value("a=b;c#d\\e\nf") == "a\\=b\\;c\\#d\\\\e\\\nf"
    assert clean_value(" a\x00b\x07c\r\nd\te\ufeff\ud800 ") == "abc\nd e"
    assert clip_bytes("é" * 200) == "é" * 126 + "…"
    assert prepare_chapters([{"start": 5, "title": "b"}, {"start": -1, "title": "a"},
                             {"start": 5, "title": "dup"}, {"start": float("nan")}], 10.0) == [
        (0, 5000, "a"), (5000, 10000, "b")]


def test_tagging_failures_are_media_errors(media, tmp_path):
    broken = tmp_path / "broken.m4a"
    broken.write_bytes(b"<html>not audio</html>")
    target = tmp_path / "out.m4a"
    with pytest.raises(MediaError, match="cannot"):
        embed_metadata(broken, target, CancelToken(), tags={"title": "x"}, chapters=[])
    with pytest.raises(MediaError, match="neither a JPEG nor a PNG"):
        embed_metadata(media["m4a"], target, CancelToken(), tags={}, chapters=[],
                       cover=media["wide.webp"])
    with pytest.raises(MediaError, match="only .m4a and .mp3"):
        embed_metadata(media["wide.jpg"], tmp_path / "x.jpg", CancelToken(), tags={}, chapters=[])
    cancelled = CancelToken()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        embed_metadata(media["mp3"], tmp_path / "out.mp3", cancelled, tags={"title": "x"},
                       chapters=[])
    assert not target.exists() and not (tmp_path / "out.mp3").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["wide.jpg", "wide.webp"])
def test_cover_from_a_wide_picture_is_a_square_jpeg(media, tmp_path, name):
    result = make_cover(tmp_path / "cover.jpg", CancelToken(), image=media[name], title="unused")
    assert result == {"file": "cover.jpg", "width": 1400, "height": 1400, "source": "image",
                      "note": None}
    data = (tmp_path / "cover.jpg").read_bytes()
    assert data.startswith(b"\xff\xd8\xff") and len(data) < 1024 * 1024
    codec, width, height, pix_fmt = picture_info(tmp_path / "cover.jpg")
    assert (codec, width, height) == ("mjpeg", 1400, 1400) and pix_fmt.startswith("yuvj")
    assert leftovers(tmp_path) == []


def test_cover_size_is_kept_between_1400_and_3000(media, tmp_path):
    big = make_cover(tmp_path / "big.jpg", CancelToken(), image=media["big.jpg"], size=5000)
    assert (big["width"], big["height"]) == (3000, 3000)
    small = make_cover(tmp_path / "small.jpg", CancelToken(), image=media["big.jpg"], size=300)
    assert (small["width"], small["height"]) == (1400, 1400)


def test_an_unreadable_picture_gives_a_title_card(media, tmp_path):
    garbage = tmp_path / "thumb.jpg"
    garbage.write_bytes(b"<html><body>Not found</body></html>")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(media["wide.jpg"].read_bytes()[:15000])
    for picture in (garbage, truncated):
        result = make_cover(tmp_path / "cover.jpg", CancelToken(), image=picture, title="Folge 1")
        assert result["source"] == "title_card" and "could not be read" in result["note"]
        assert picture_info(tmp_path / "cover.jpg")[1:3] == (1400, 1400)
    assert leftovers(tmp_path) == []


def test_title_card_with_a_hostile_title_in_an_awkward_folder(tmp_path):
    folder = tmp_path / "we:ird',d[i]r;x\\y%"
    folder.mkdir()
    result = make_cover(folder / "cover.jpg", CancelToken(), title=HOSTILE_TITLE,
                        subtitle="Kanal: 100% \\ ok\n")
    assert result == {"file": "cover.jpg", "width": 1400, "height": 1400,
                      "source": "title_card", "note": None}
    assert (folder / "cover.jpg").read_bytes().startswith(b"\xff\xd8\xff")
    assert os.listdir(folder) == ["cover.jpg"]


def test_title_card_without_a_font_has_no_text(tmp_path, monkeypatch):
    monkeypatch.setattr(cover_module, "find_font", lambda: None)
    result = make_cover(tmp_path / "cover.jpg", CancelToken(), title="Folge 1", size=1600)
    assert (result["source"], result["width"]) == ("title_card", 1600)
    assert "no font" in result["note"]


def test_cover_cancel_leaves_nothing(media, tmp_path):
    cancelled = CancelToken()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        make_cover(tmp_path / "cover.jpg", cancelled, image=media["wide.jpg"])
    assert os.listdir(tmp_path) == []


def test_titles_are_wrapped_and_shortened():
    lines = wrap_title(HOSTILE_TITLE)
    assert len(lines) == 4 and lines[-1].endswith("…")
    assert all("\n" not in line for line in lines)
    assert wrap_title("Kurz") == ["Kurz"]
    assert wrap_title("x" * 100)[0] == "x" * len(wrap_title("x" * 100)[0])
    assert filter_value("/a:b\\c'd,e[f];") == "/a\\\\:b\\\\\\\\c\\\\\\'d\\,e\\[f\\]\\;"
