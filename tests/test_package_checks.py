"""Stage 7's checks of the publishable episode (services/stages/package_checks.py): embedded
chapters and tags, the cover and the episode's transcripts, on small real files made with
ffmpeg and the product's own tagging, cover and subtitle writers."""
import json
import shutil
import subprocess

import pytest

from services.engine.cancel import CancelToken
from services.engine.context import StageContext
from services.media.cover import make_cover
from services.media.subtitles import to_podcast_json, to_srt, to_vtt
from services.media.tagging import embed_metadata
from services.stages import package_checks, quality_packaging
from services.stages.package_checks import check_package
from tests.conftest import QuietReporter
from tests.media_support import ffmpeg

LENGTH = 20.0
CHAPTERS = [{"start": 0.0, "title": "Opening"}, {"start": 7.5, "title": "Middle – Grüße"},
            {"start": 14.0, "title": "Close"}]
TAGS = {"title": "Episode 1", "artist": "Someone", "album": "The Podcast", "date": "2024-05-06",
        "comment": "http://example.invalid/v", "genre": "Podcast"}
CUES = [{"start": 0.5, "end": 3.0, "text": "Hello & welcome"},
        {"start": 3.0, "end": 6.0, "text": "Yes."}, {"start": 6.0, "end": 9.0, "text": "Yes."},
        {"start": 12.0, "end": 19.9, "text": "Goodbye <for now>"}]
CHECKS = {"embedded chapters", "tags", "cover", "episode transcripts"}


def make(args, path):
    """Run ffmpeg quietly to make `path`."""
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)],
                   check=True, timeout=60)
    return path


def write_transcripts(folder, cues):
    (folder / "episode.vtt").write_text(to_vtt(cues), encoding="utf-8")
    (folder / "episode.srt").write_text(to_srt(cues), encoding="utf-8")
    (folder / "episode.transcript.json").write_text(to_podcast_json(cues, "en"), encoding="utf-8")


def production(chapters=CHAPTERS, cues=len(CUES)):
    return {"mode": "full", "episode": {"file": "episode.m4a", "planned_duration": LENGTH},
            "clips": [], "chapters": chapters, "tags": TAGS,
            "cover": {"file": "cover.jpg", "width": 1400, "height": 1400, "from": "title card"},
            "transcripts": {"files": list(package_checks.TRANSCRIPTS), "language": "en",
                            "cues": cues}}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A complete package (tagged .m4a and .mp3, cover, transcripts), a plain episode and
    pictures of the wrong size, made once."""
    folder = tmp_path_factory.mktemp("package")
    cancel = CancelToken()
    make_cover(folder / "cover.jpg", cancel, title="x")
    plain = {}
    for fmt, codec in (("m4a", "aac"), ("mp3", "libmp3lame")):
        plain[fmt] = make(["-f", "lavfi", "-i", f"sine=frequency=440:duration={LENGTH}",
                           "-c:a", codec, "-b:a", "64k"], folder / f"plain.{fmt}")
        embed_metadata(plain[fmt], folder / f"episode.{fmt}", cancel, tags=TAGS,
                       chapters=CHAPTERS, cover=folder / "cover.jpg")
    make(["-f", "lavfi", "-i", "color=c=red:size=600x600", "-frames:v", "1"], folder / "small.jpg")
    make(["-f", "lavfi", "-i", "color=c=red:size=1600x1400", "-frames:v", "1"], folder / "wide.jpg")
    return folder


@pytest.fixture
def package(made, tmp_path):
    """A fresh episode folder holding the complete package as .m4a."""
    folder = tmp_path / "episode"
    folder.mkdir()
    for name in ("episode.m4a", "cover.jpg"):
        shutil.copy(made / name, folder / name)
    write_transcripts(folder, CUES)
    return folder


def by_check(findings):
    """{check: [findings]} of a list of findings."""
    grouped = {}
    for item in findings:
        grouped.setdefault(item["check"], []).append(item)
    return grouped


def levels(findings, check):
    return [item["level"] for item in findings if item["check"] == check]


def test_a_complete_package_is_ok(package):
    found = check_package(package, production(), "episode.m4a", LENGTH)
    assert {item["check"] for item in found} == CHECKS
    assert all(item["level"] == "ok" for item in found), found
    messages = {check: items[0]["message"] for check, items in by_check(found).items()}
    assert "3 chapters" in messages["embedded chapters"]
    assert "1400×1400 px" in messages["cover"] and "embedded in episode.m4a" in messages["cover"]
    assert "4 cues each" in messages["episode transcripts"]   # "Yes." twice is two cues


def test_an_mp3_package_is_ok(made, package):
    shutil.copy(made / "episode.mp3", package / "episode.mp3")
    found = check_package(package, production(), "episode.mp3", LENGTH)
    assert all(item["level"] == "ok" for item in found), found


def test_a_chapter_moved_renamed_or_missing_is_an_error(package):
    moved = [dict(c) for c in CHAPTERS]
    moved[1]["start"] += 0.5
    found = check_package(package, production(moved), "episode.m4a", LENGTH)
    (chapters,) = by_check(found)["embedded chapters"]
    assert chapters["level"] == "error"
    assert "chapter 2 ('Middle – Grüße') starts at 7.50 s in the file, 8.00 s" in chapters["message"]
    nudged = [dict(c) for c in CHAPTERS]
    nudged[2]["start"] += 0.05
    assert levels(check_package(package, production(nudged), "episode.m4a", LENGTH),
                  "embedded chapters") == ["ok"]
    renamed = [*CHAPTERS[:2], {"start": 14.0, "title": "Ending"}]
    (chapters,) = by_check(check_package(package, production(renamed), "episode.m4a",
                                         LENGTH))["embedded chapters"]
    assert chapters["level"] == "error" and "chapter 3 is titled 'Close'" in chapters["message"]
    more = [*CHAPTERS, {"start": 17.0, "title": "Extra"}]
    (chapters,) = by_check(check_package(package, production(more), "episode.m4a",
                                         LENGTH))["embedded chapters"]
    assert chapters["level"] == "error"
    assert "the file has 3 chapters, production.json 4" in chapters["message"]
    (chapters,) = by_check(check_package(package, production([]), "episode.m4a",
                                         LENGTH))["embedded chapters"]
    assert chapters == {"level": "ok", "check": "embedded chapters", "message": "no chapters"}
    assert levels(check_package(package, production([{"start": "soon"}]), "episode.m4a",
                                LENGTH), "embedded chapters") == ["error"]


def test_missing_tags_and_an_unembedded_cover_are_warnings(made, package):
    shutil.copy(made / "plain.m4a", package / "episode.m4a")
    found = by_check(check_package(package, production([]), "episode.m4a", LENGTH))
    assert found["tags"][0]["level"] == "warning"
    assert "has no title and no album tag" in found["tags"][0]["message"]
    assert found["cover"][0]["level"] == "warning"
    assert "episode.m4a carries no cover" in found["cover"][0]["message"]


@pytest.mark.parametrize("picture, expected", [("small.jpg", "is 600×600 px"),
                                               ("wide.jpg", "is 1600×1400 px"),
                                               (None, "there is no cover.jpg")])
def test_a_cover_of_the_wrong_size_or_none_is_a_warning(made, package, picture, expected):
    (package / "cover.jpg").unlink()
    if picture:
        shutil.copy(made / picture, package / "cover.jpg")
    (cover,) = by_check(check_package(package, production(), "episode.m4a", LENGTH))["cover"]
    assert cover["level"] == "warning" and expected in cover["message"]
    assert "1400–3000 px" in cover["message"] or not picture


def transcript_finding(folder, noted=len(CUES), duration=LENGTH):
    found = package_checks.check_transcripts(folder, duration, {"cues": noted})
    return found[0], found[1:]


def test_a_cue_past_the_end_or_out_of_order_is_an_error(package):
    late = [*CUES[:-1], {"start": 12.0, "end": LENGTH + 0.5, "text": "Goodbye"}]
    write_transcripts(package, late)
    first, _ = transcript_finding(package)
    assert first["level"] == "error"
    assert "episode.vtt: cue 4 (12.00–20.50 s) is outside the episode (0–20.00 s)" in first["message"]
    write_transcripts(package, [*CUES[:-1], {"start": 12.0, "end": LENGTH + 0.1, "text": "Bye"}])
    assert transcript_finding(package)[0]["level"] == "ok"
    backwards = [CUES[1], CUES[0], *CUES[2:]]
    write_transcripts(package, backwards)
    first, _ = transcript_finding(package)
    assert first["level"] == "error" and "cue 2 starts before the cue before it" in first["message"]
    write_transcripts(package, CUES)
    (package / "episode.srt").write_text(to_srt([*CUES, {"start": 5.0, "end": 4.0, "text": "x"}]),
                                         encoding="utf-8")
    first, _ = transcript_finding(package)
    assert first["level"] == "error"
    assert "episode.srt: cue 5 ends before it starts" in first["message"]
    assert "the number of cues differs: episode.vtt 4, episode.srt 5" in first["message"]
    write_transcripts(package, CUES)
    vtt = (package / "episode.vtt").read_text(encoding="utf-8")
    (package / "episode.vtt").write_text(vtt.replace("00:00:06.000 --> 00:00:09.000",
                                                     "00:00:09.000 --> 00:00:06.000"))
    first, _ = transcript_finding(package)
    assert first["level"] == "error" and first["message"] == "episode.vtt: cue 3 ends before it starts"


def test_unreadable_or_missing_transcripts_are_errors(package):
    (package / "episode.transcript.json").write_text('{"version": "1.0.0"}', encoding="utf-8")
    (package / "episode.srt").write_text("1\n00:00:01 --> soon\nHello\n", encoding="utf-8")
    first, _ = transcript_finding(package)
    assert first["level"] == "error"
    assert "episode.transcript.json cannot be read: it has no segments list" in first["message"]
    assert "episode.srt cannot be read" in first["message"]
    write_transcripts(package, CUES)
    (package / "episode.vtt").write_text(to_srt(CUES), encoding="utf-8")
    assert "it does not start with WEBVTT" in transcript_finding(package)[0]["message"]
    (package / "episode.vtt").unlink()
    first, _ = transcript_finding(package)
    assert first["level"] == "error" and first["message"] == "episode.vtt is missing"
    write_transcripts(package, CUES)
    first, _ = transcript_finding(package, noted=3)
    assert first["level"] == "error"
    assert first["message"] == "production.json notes 3 cues, the files hold 4"


def test_a_raw_arrow_in_vtt_text_is_a_warning(package):
    text = to_vtt(CUES).replace("Yes.", "Yes --> no", 1)
    (package / "episode.vtt").write_text(text, encoding="utf-8")
    first, more = transcript_finding(package)
    assert first["level"] == "ok"
    assert [item["level"] for item in more] == ["warning"]
    assert "'Yes --> no'" in more[0]["message"]


def test_an_episode_made_before_the_package_gives_warnings_only(made, tmp_path):
    folder = tmp_path / "older"
    folder.mkdir()
    shutil.copy(made / "plain.m4a", folder / "episode.m4a")
    older = {"mode": "full", "episode": {"file": "episode.m4a", "planned_duration": LENGTH},
             "clips": [], "chapters": CHAPTERS}
    found = check_package(folder, older, "episode.m4a", LENGTH)
    assert {item["check"] for item in found} == CHECKS
    assert [item["level"] for item in found] == ["warning"] * 4, found
    assert all("run Audio Production again" in item["message"] for item in found)
    # and with the new files but production.json as before them
    write_transcripts(folder, CUES)
    shutil.copy(made / "cover.jpg", folder / "cover.jpg")
    assert levels(check_package(folder, older, "episode.m4a", LENGTH),
                  "episode transcripts") == ["ok"]


def test_a_missing_episode_file_checks_the_rest(package):
    (package / "episode.m4a").unlink()
    found = check_package(package, production(), None, LENGTH)
    assert [(item["check"], item["level"]) for item in found] == [("cover", "ok"),
                                                                   ("episode transcripts", "ok")]
    (package / "episode.srt").unlink()
    found = check_package(package, production(), None, None)
    assert levels(found, "episode transcripts") == ["error"]


def test_stage_7_reports_the_package_and_reruns_after_stage_6(package):
    (package / "production.json").write_text(json.dumps(production()), encoding="utf-8")
    assert {"cover.jpg", "episode.vtt", "episode.srt", "episode.transcript.json"} <= set(
        quality_packaging.inputs(package))
    ctx = StageContext("t", "http://example.invalid/", package, {}, CancelToken(), QuietReporter())
    before = quality_packaging.parameters(ctx)
    assert quality_packaging.run(ctx) == ["manifest.json", "report.html"]
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert {f["check"]: f["level"] for f in manifest["findings"] if f["check"] in CHECKS} == \
        dict.fromkeys(CHECKS, "ok")
    assert "embedded chapters" in (package / "report.html").read_text(encoding="utf-8")
    write_transcripts(package, CUES[:-1])
    assert quality_packaging.parameters(ctx)["inputs"] != before["inputs"]
