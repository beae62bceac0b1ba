"""The WebVTT that to_vtt writes loads in Chromium with every cue, its text and its times; the
same cues written naively (unescaped, with their line breaks) lose text there."""
import functools
import html
import http.server
import threading

import pytest

from services.media.subtitles import cue_line, to_vtt
from tests.browser_support import open_page

CUES = [
    {"start": 0.5, "end": 1.25, "text": "Tom & Jerry <b>bold</b> a --> b"},
    {"start": 2.001, "end": 3.999, "text": "first line\n\nafter a blank line"},
    {"start": 4.0, "end": 5.5, "text": "emoji 😀🎙️ 👍🏽 and RTL שלום مرحبا"},
    {"start": 61.005, "end": 62.0, "text": "&amp; &lt;i&gt; 1 < 2 > 0 &copy"},
    {"start": 3661.789, "end": 3663.0, "text": "00:00:01.000 --> 00:00:02.000"},
    {"start": 3700.0, "end": 3701.0, "text": "NUL\x00 and <v Someone>voice</v>"},
]
PAGE = ('<!doctype html><meta charset="utf-8"><title>tracks</title><link rel="icon" href="data:,">'
        '<video><track kind="subtitles" srclang="en" default src="{name}"></video>')
LOADED = """async () => {
    const video = document.querySelector("video");
    const track = document.querySelector("track");
    video.textTracks[0].mode = "hidden";
    for (let tries = 0; tries < 200 && track.readyState < 2; tries++) {
        await new Promise((done) => setTimeout(done, 25));
    }
    return {state: track.readyState,
            cues: Array.from(video.textTracks[0].cues || [], (cue) => ({
                start: cue.startTime, end: cue.endTime, text: cue.text,
                shown: cue.getCueAsHTML().textContent}))};
}"""


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".vtt": "text/vtt; charset=utf-8", ".html": "text/html; charset=utf-8"}

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A loopback HTTP server over a fresh folder: (folder, base URL)."""
    folder = tmp_path_factory.mktemp("vtt-site")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def loaded_cues(browser, site, name, vtt):
    """The cues Chromium reads from `vtt`, served as `name` under a page with one track."""
    folder, base_url = site
    (folder / name).write_text(vtt, encoding="utf-8")
    (folder / f"{name}.html").write_text(PAGE.format(name=name), encoding="utf-8")
    page = open_page(browser, base_url)
    try:
        page.goto(f"/{name}.html")
        result = page.evaluate(LOADED)
        assert page.errors == []
    finally:
        page.context.close()
    assert result["state"] == 2, "the track did not load"
    return result["cues"]


def test_every_escaped_cue_loads_with_its_text_and_times(browser, site):
    cues = loaded_cues(browser, site, "escaped.vtt", to_vtt(CUES))
    assert len(cues) == len(CUES)
    for got, written in zip(cues, CUES):
        expected = cue_line(written["text"])
        assert got["shown"] == expected
        assert html.unescape(got["text"]) == expected
        assert got["text"] == html.escape(expected, quote=False)
        assert abs(got["start"] - written["start"]) < 0.001
        assert abs(got["end"] - written["end"]) < 0.001


def naive_vtt(cues):
    """WebVTT with the cue text as it is: no escaping, its line breaks kept (NUL left out)."""
    timings = [to_vtt([cue]).splitlines()[2] for cue in cues]
    return "WEBVTT\n\n" + "\n".join(f"{timing}\n{cue['text'].replace(chr(0), '')}\n"
                                     for timing, cue in zip(timings, cues))


def test_the_same_cues_written_naively_lose_text(browser, site):
    naive = naive_vtt(CUES)
    assert "a --> b\n" in naive and "first line\n\nafter" in naive
    cues = loaded_cues(browser, site, "naive.vtt", naive)
    shown = [cue["shown"] for cue in cues]
    assert shown != [cue_line(cue["text"]) for cue in CUES]
    assert "Tom & Jerry <b>bold</b> a --> b" not in shown    # "-->" ends the cue's text
    assert "first line after a blank line" not in shown
