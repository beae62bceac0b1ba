"""Chapters, titles and highlights on committed fixtures of different shapes, through the real
stages (2) 3, 4 and 5 in this process: every topic change found within 5 s, no chapter
elsewhere, titles that name their topics, highlights inside one topic.

- announced.m4a: one voice, 62 s, three topics each announced in a few words ("Now, honey
  bees.", "Finally, rain water."), short pauses at the changes (tests/fixtures/announced.txt);
- topics.m4a: two voices, two minutes, three topics announced in full sentences, pink noise;
- unpunctuated.json: a transcript with no punctuation and no capitals, four topics never
  announced (tests/fixtures/unpunctuated_truth.json).

The audio fixtures are transcribed here by stage 2, so a decoder on another CPU may give other
words: titles must name their topic in all but one chapter. The unpunctuated transcript names
two of its topics only once or twice (a title is a phrase the chapter says), so two of its
four titles may miss.
"""
import json
import shutil
import subprocess

import pytest

from services.media.ffmpeg import ffmpeg_path
from tests.conftest import FIXTURES, run_stages_here

HEAD_NOUNS = {"coffee": ["coffee"], "mars": ["mars", "spacecraft", "orbit"],
              "bread": ["bread", "sourdough", "dough"], "tomatoes": ["tomato"],
              "bees": ["bee"], "water": ["water"]}


def run_stages(folder, numbers):
    run_stages_here(folder, numbers, whisper={"cpu_threads": 2})
    read = {name: json.loads((folder / name).read_text())
            for name in ("analysis.json", "segments.json", "summary.json")}
    return read, (folder / "chapters.txt")


def audio_episode(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i",
                    str(FIXTURES / f"{name}.m4a"), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
                    str(folder / "audio.wav")], check=True, timeout=60)
    (folder / "metadata.json").write_text(json.dumps({"title": name}))
    truth = json.loads((FIXTURES / f"{name}.json").read_text())
    topics = [dict(topic, head_nouns=HEAD_NOUNS[topic["name"]]) for topic in truth["topics"]]
    return folder, topics


def text_episode(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(FIXTURES / f"{name}.json", folder / "transcript.json")
    (folder / "metadata.json").write_text(json.dumps({"title": name}))
    return folder, json.loads((FIXTURES / f"{name}_truth.json").read_text())["topics"]


def topic_at(topics, start, end):
    """The topic that overlaps [start, end] most."""
    return max(topics, key=lambda t: min(end, t["end"]) - max(start, t["start"]))


def names_its_topic(title, topic):
    return any(noun.lower() in title.lower() for noun in topic["head_nouns"])


def check(read, topics, wrong_titles_allowed):
    chapters = read["summary.json"]["chapters"]
    starts = [chapter["start"] for chapter in chapters]
    changes = [topic["start"] for topic in topics[1:]]
    assert len(starts) == len(topics), (starts, changes)
    for change, found in zip(changes, starts[1:]):
        assert abs(found - change) <= 5.0, (starts, changes)
    titles = [chapter["title"] for chapter in chapters]
    named = [names_its_topic(c["title"], topic_at(topics, c["start"], c["end"])) for c in chapters]
    assert sum(named) >= len(chapters) - wrong_titles_allowed, titles
    assert len({title.lower() for title in titles}) == len(titles)
    assert all(1 <= len(title.split()) <= 5 for title in titles), titles
    for segment in read["segments.json"]["segments"]:
        topic = topic_at(topics, segment["start"], segment["end"])
        assert topic["start"] - 1.0 <= segment["start"] and segment["end"] <= topic["end"] + 1.0


@pytest.mark.parametrize("name", ["announced", "topics"])
def test_audio_fixtures_get_their_chapters_and_titles(tmp_path, name):
    folder, topics = audio_episode(tmp_path, name)
    read, chapter_list = run_stages(folder, (2, 3, 4, 5))
    check(read, topics, wrong_titles_allowed=1)
    assert chapter_list.is_file() and read["summary.json"]["youtube_chapters_ok"]


def test_an_unpunctuated_transcript_gets_its_chapters_and_titles(tmp_path):
    folder, topics = text_episode(tmp_path, "unpunctuated")
    read, _ = run_stages(folder, (3, 4, 5))
    sentences = read["analysis.json"]["sentences"]
    assert all(sentence["words"] <= 40 for sentence in sentences)
    assert len(sentences) >= read["analysis.json"]["duration"] / 15
    check(read, topics, wrong_titles_allowed=2)


def test_two_topics_give_no_chapter_list_and_say_why(tmp_path):
    folder, topics = text_episode(tmp_path, "unpunctuated")
    transcript = json.loads((folder / "transcript.json").read_text())
    cut = topics[2]["start"]
    transcript["segments"] = [s for s in transcript["segments"] if s["end"] <= cut]
    transcript["duration"] = cut
    (folder / "transcript.json").write_text(json.dumps(transcript))
    (folder / "chapters.txt").write_text("00:00 Left over\n")
    read, chapter_list = run_stages(folder, (3, 4, 5))
    summary = read["summary.json"]
    assert len(summary["chapters"]) == 2
    assert not chapter_list.exists() and summary["youtube_chapters_ok"] is False
    assert "at least 3 chapters" in summary["youtube_chapters_reason"]
