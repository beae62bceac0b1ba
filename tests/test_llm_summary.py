"""The optional LLM path of stage 5 against a loopback OpenAI-compatible endpoint: what it
answers is checked, used when it passes, and the extractive result kept when it does not; the
run page says which was used."""
import json
import shutil

import pytest

from routes.insights import load_insights
from tests.conftest import FIXTURES, run_stages_here
from tests.server_support import loopback_http
from tests.test_text_analysis import ChatHandler

TITLES = ["Mountain bikes", "Volcano science", "Chess openings", "Sourdough starters"]


def answer(titles=TITLES, summary="An episode about four things."):
    return json.dumps({"summary": summary, "chapter_titles": titles})


class ModelHandler(ChatHandler):
    """Answers every chat request with `content` (set per test)."""

    content = answer()
    status = 200

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"choices": [{"message": {"role": "assistant",
                                                    "content": self.content}}]}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def model_server():
    with loopback_http(ModelHandler) as url:
        yield url


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """An episode folder after stages 3 and 4 of the unpunctuated four-topic fixture."""
    folder = tmp_path_factory.mktemp("llm") / "episode"
    folder.mkdir()
    shutil.copy(FIXTURES / "unpunctuated.json", folder / "transcript.json")
    (folder / "metadata.json").write_text(json.dumps({"title": "Four things"}))
    run_stages_here(folder, (3, 4))
    return folder


def summarise(folder, url, content, status=200):
    ModelHandler.content, ModelHandler.status = content, status
    run_stages_here(folder, (5,), llm={"url": f"{url}/v1", "model": "fake-model", "timeout": 5})
    return json.loads((folder / "summary.json").read_text()), load_insights(folder)


def test_a_good_answer_is_used_and_the_page_says_so(analysed, model_server):
    summary, insights = summarise(analysed, model_server, answer())
    assert len(summary["chapters"]) == 4, "the fixture has four topics"
    assert summary["source"] == "llm" and summary["llm_model"] == "fake-model"
    assert [c["title"] for c in summary["chapters"]] == TITLES
    assert summary["summary"] == "An episode about four things."
    assert "Mountain bikes" in (analysed / "chapters.txt").read_text()
    assert insights["written_by"]["source"] == "llm"


@pytest.mark.parametrize("content, status, reason", [
    (answer(TITLES[:3]), 200, "4 chapter titles"),
    (answer(["Bikes", "Bikes", "Chess", "Bread"]), 200, "repeat"),
    (answer(TITLES[:3] + ["A title that goes on and on for far too many words"]), 200, "words"),
    (answer(summary=""), 200, "no usable summary"),
    ("Sure! Here are your titles.", 200, "not the JSON"),
    (answer(), 503, "HTTP 503"),
])
def test_a_bad_answer_keeps_the_extractive_result_and_says_why(analysed, model_server, content,
                                                               status, reason):
    summary, insights = summarise(analysed, model_server, content, status)
    assert summary["source"] == "extractive" and reason in summary["llm_problem"]
    titles = [c["title"] for c in summary["chapters"]]
    assert not set(titles) & set(TITLES)
    assert summary["summary_sentences"]
    assert insights["written_by"] == {"source": "extractive", "model": "",
                                      "problem": summary["llm_problem"], "no_chapter_list": ""}
