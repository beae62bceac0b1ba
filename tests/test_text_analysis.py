"""The pieces of stages 3–5 on their own: sentences, TextTiling, keywords and titles, LexRank,
YouTube's chapter rules, segment choice and the LLM client against a loopback endpoint."""
import http.server
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.stages.segment_selection import choose
from services.stages.summary_generation import lexrank, pick, summary_length
from services.text import keywords, topics
from services.text.llm import LlmError, chat_json, endpoint
from services.text.sentences import split_sentences
from services.text.titles import chapter_titles
from services.text.youtube_chapters import chapter_lines, check_chapter_lines, parse_time
from tests.server_support import loopback_http

TOPIC_TEXTS = {
    "coffee": ["Coffee beans grow on farms in the Ethiopian highlands.",
               "Farmers pick the coffee cherries by hand when they turn red.",
               "The coffee beans are dried in the sun and roasted before brewing."],
    "space": ["The spacecraft fires its engine to enter orbit around Mars.",
              "Rocket engineers plan the orbit of the spacecraft for months.",
              "Mars orbit insertion needs a precise burn of the rocket engine."],
    "bread": ["Sourdough bread needs a starter of flour and water.",
              "The baker folds the dough and lets the bread rise overnight.",
              "A hot oven gives the sourdough loaf a dark crisp crust."],
}


def sentences_of(texts, seconds=5.0):
    return [{"index": i, "start": i * seconds, "end": (i + 1) * seconds - 0.3, "text": text,
             "words": len(text.split())} for i, text in enumerate(texts)]


def three_topics(repeat=3):
    texts = []
    for topic in ("coffee", "space", "bread"):
        texts += TOPIC_TEXTS[topic] * repeat
    return texts


def test_sentences_from_word_times_and_punctuation():
    transcript = {"segments": [
        {"start": 0.0, "end": 4.0, "text": "Hello there. How are", "words": [
            {"start": 0.0, "end": 0.5, "word": " Hello"}, {"start": 0.5, "end": 1.0, "word": " there."},
            {"start": 2.0, "end": 2.4, "word": " How"}, {"start": 2.4, "end": 2.8, "word": " are"}]},
        {"start": 4.0, "end": 6.0, "text": "you? Fine", "words": [
            {"start": 4.0, "end": 4.4, "word": " you?"}, {"start": 5.0, "end": 5.5, "word": " Fine"}]},
        {"start": 6.0, "end": 8.0, "text": "no words here"}]}
    found = split_sentences(transcript)
    assert [s["text"] for s in found] == ["Hello there.", "How are you?", "Fine no words here"]
    assert (found[1]["start"], found[1]["end"]) == (2.0, 4.4)
    assert found[2]["end"] == 8.0 and found[2]["words"] == 4


@pytest.mark.parametrize("method", ["wordllama", "tfidf"])
def test_texttiling_finds_the_topic_changes(method):
    from services.text.vectors import embed

    texts = three_topics()
    sentences = sentences_of(texts)
    vectors = embed(texts, method)
    starts, depths = topics.chapter_starts(vectors, sentences, len(texts) * 5.0, min_seconds=20,
                                           window_seconds=15)
    assert starts == [0, 9, 18], (starts, depths)


def test_texttiling_respects_minimum_maximum_and_youtube():
    from services.text.vectors import embed

    texts = three_topics(repeat=6)
    sentences = sentences_of(texts, seconds=4.0)
    vectors = embed(texts, "tfidf")
    duration = len(texts) * 4.0
    for minimum, maximum in ((5, 900), (30, 900), (20, 40)):
        starts, _ = topics.chapter_starts(vectors, sentences, duration, minimum, maximum)
        bounds = [sentences[i]["start"] for i in starts] + [duration]
        lengths = [b - a for a, b in zip(bounds, bounds[1:])]
        assert min(lengths) >= max(minimum, 10)
        assert len(starts) >= 3
        if maximum == 40:
            assert max(lengths) <= 40 + 4.0 * 2, lengths
    short = sentences_of(texts[:3])
    assert topics.chapter_starts(embed(texts[:3], "tfidf"), short, 15.0)[0] == [0]


def test_keywords_and_titles_differ_per_chapter():
    documents = [" ".join(TOPIC_TEXTS[t] * 2) for t in ("coffee", "space", "bread")]
    per_chapter, episode = keywords.chapter_keywords(documents)
    assert per_chapter[0][0]["term"].startswith("coffee")
    assert any("spacecraft" in k["term"] or "orbit" in k["term"] for k in per_chapter[1][:3])
    assert any("sourdough" in k["term"] or "bread" in k["term"] for k in per_chapter[2][:3])
    assert len(episode) >= 3
    sentences = [{"text": text} for text in documents]
    chapters = [{"first_sentence": index, "last_sentence": index} for index in range(3)]
    titles = chapter_titles(chapters, sentences)
    assert len(set(titles)) == 3
    assert all(t[0].isupper() and len(t.split()) <= 5 for t in titles)
    assert "Coffee" in titles[0] and re.search("bread|sourdough|dough", titles[2], re.I)


def test_lexrank_prefers_central_sentences_without_repeats():
    from services.text.vectors import embed

    texts = ["Coffee grows in Ethiopia.", "Coffee grows in Ethiopia.",
             "Ethiopian coffee farmers pick coffee by hand.", "The weather was nice.",
             "Coffee is roasted after the harvest in Ethiopia."]
    vectors = embed(texts, "tfidf")
    scores = lexrank(vectors)
    assert scores.argmax() in (0, 1, 2, 4) and scores[3] == scores.min()
    chosen = pick(range(5), scores, vectors, 3)
    assert chosen == sorted(chosen) and not {0, 1} <= set(chosen)
    assert summary_length(30) == 5 and summary_length(1000) == 7 and summary_length(3) == 3


def test_chapter_lines_follow_youtubes_rules():
    chapters = [{"start": 0.4, "title": "Intro"}, {"start": 65.2, "title": "Coffee  farms"},
                {"start": 130.0, "title": "Mars"}]
    lines = chapter_lines(chapters, 200)
    assert lines == ["00:00 Intro", "01:05 Coffee farms", "02:10 Mars"]
    assert check_chapter_lines(lines, 200) == []
    long_lines = chapter_lines([{"start": 0, "title": "A"}, {"start": 600, "title": "B"},
                                {"start": 3725, "title": "C"}], 4000)
    assert long_lines == ["0:00:00 A", "0:10:00 B", "1:02:05 C"]
    assert check_chapter_lines(long_lines, 4000) == []


@pytest.mark.parametrize("lines, words", [
    (["00:05 A", "01:00 B", "02:00 C"], "00:00"),
    (["00:00 A", "01:00 B"], "at least 3"),
    (["00:00 A", "02:00 B", "01:00 C"], "does not come after"),
    (["00:00 A", "00:05 B", "01:00 C"], "shorter than 10"),
    (["00:00 A", "01:00 B", "1:60 C"], "not 'MM:SS Title'"),
    (["00:00 A", "01:00 B", "02:00"], "not 'MM:SS Title'"),
    (["00:00 A", "01:00 B", "\u00b2:00 C"], "not 'MM:SS Title'"),
])
def test_chapter_rule_breaks_are_named(lines, words):
    assert any(words in problem for problem in check_chapter_lines(lines))


def test_last_chapter_must_last_ten_seconds():
    assert any("last chapter" in p for p in check_chapter_lines(["00:00 A", "01:00 B", "02:00 C"], 125))
    assert parse_time("1:02:03") == 3723 and parse_time("62:03") == 3723 and parse_time("1:2") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=6), st.one_of(st.none(), st.floats(0, 1e6)))
def test_chapter_check_takes_any_lines(lines, duration):
    assert isinstance(check_chapter_lines(lines, duration), list)


def test_segment_choice_is_deterministic_and_apart():
    found = [{"start": s, "end": s + 20, "score": score} for s, score in
             ((0, 0.5), (10, 0.9), (30, 0.9), (33, 0.8), (60, 0.7), (90, 0.1))]
    chosen = choose(found, {"count": 3, "min_gap_seconds": 5})
    assert [c["start"] for c in chosen] == [10, 60, 90]
    assert chosen == choose(list(reversed(found)), {"count": 3, "min_gap_seconds": 5})
    for a, b in zip(chosen, chosen[1:]):
        assert a["end"] + 5 <= b["start"]


class ChatHandler(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint: /ok answers JSON, /slow too late, /bad with prose."""

    requests = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        import time

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.path, self.headers.get("Authorization"), body))
        if self.path.startswith("/slow"):
            time.sleep(2)   # kept: the deliberate slowness of this fake model server
        if self.path.startswith("/down"):
            self.send_response(503)
            self.end_headers()
            return
        content = ("Sure! Here it is." if self.path.startswith("/bad") else
                   "```json\n" + json.dumps({"summary": "A talk.", "chapter_titles": ["One"]}) + "\n```")
        answer = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())


@pytest.fixture(scope="module")
def chat_server():
    with loopback_http(ChatHandler) as url:
        yield url


def test_llm_client_reads_the_openai_shape(chat_server):
    answer = chat_json({"url": f"{chat_server}/ok/v1", "model": "m", "api_key": "k"}, "sys", "user")
    assert answer == {"summary": "A talk.", "chapter_titles": ["One"]}
    path, auth, body = ChatHandler.requests[-1]
    assert path == "/ok/v1/chat/completions" and auth == "Bearer k" and body["model"] == "m"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert endpoint("http://h/v1/chat/completions") == "http://h/v1/chat/completions"


@pytest.mark.parametrize("path, words", [("/slow/v1", "no answer within"), ("/bad/v1", "not the JSON"),
                                         ("/down/v1", "HTTP 503")])
def test_llm_failures_say_why(chat_server, path, words):
    with pytest.raises(LlmError) as caught:
        chat_json({"url": f"{chat_server}{path}", "timeout": 0.5}, "sys", "user")
    assert words in str(caught.value)


def test_llm_unreachable():
    from tests.server_support import free_port

    with pytest.raises(LlmError) as caught:
        chat_json({"url": f"http://127.0.0.1:{free_port()}/v1", "timeout": 2}, "s", "u")
    assert "could not reach" in str(caught.value)
