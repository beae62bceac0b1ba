"""Text-only cases: a transcript.json made from a script with synthetic word timings.

Words take about 1 / TEXT_WORDS_PER_SECOND seconds each (longer words a little more), with
the script's pauses between sentences. The transcript is punctuated as written, unpunctuated
and lowercase (as telephone speech often transcribes), or with comma splices (every sentence
end but the last a comma). Segments are one to three sentences when punctuated, and runs of
8 to 30 words that ignore the sentences otherwise.
"""
import json
import random
import re

from eval_set import episodes

EDGE_SECONDS = 0.5
WORD_GAP = (0.02, 0.08)      # seconds between words of a sentence
COMMA_GAP = (0.12, 0.22)


def timed_words(lines, rng):
    """[(start, end, text, line index)] for every word of the script; sets each line's times."""
    base = 1 / episodes.TEXT_WORDS_PER_SECOND - sum(WORD_GAP) / 2
    words, clock = [], EDGE_SECONDS
    for index, line in enumerate(lines):
        if index:
            clock += line["pause"]
        tokens = line["text"].split()
        line["start"] = round(clock, 3)
        for position, token in enumerate(tokens):
            length = base * (0.55 + 0.1 * len(token.strip(".,?!:;"))) * rng.uniform(0.85, 1.15)
            words.append((round(clock, 3), round(clock + length, 3), token, index))
            clock += length
            if position < len(tokens) - 1:
                clock += rng.uniform(*(COMMA_GAP if token.endswith(",") else WORD_GAP))
        line["end"] = round(clock, 3)
    return words, clock + EDGE_SECONDS


def written(words, variant):
    """The words' text as the variant writes them."""
    if variant == "unpunct":
        return [re.sub(r"[.,?!;:]", "", text).lower() for *_, text, _ in words]
    if variant == "splice":
        last = len(words) - 1
        return [re.sub(r"[.?!]$", ",", text) if i < last else text
                for i, (*_, text, _) in enumerate(words)]
    return [text for *_, text, _ in words]


def segment_ranges(words, variant, rng):
    """(first, after) word indices of each segment."""
    ranges, first = [], 0
    while first < len(words):
        if variant == "punct":
            line, wanted = words[first][3], rng.randint(1, 3)
            after = first
            while after < len(words) and words[after][3] < line + wanted:
                after += 1
        else:
            after = min(first + rng.randint(8, 30), len(words))
        ranges.append((first, after))
        first = after
    return ranges


def transcript_of(words, texts, duration, variant, rng):
    """The transcript.json shape that stage 2 writes."""
    segments = []
    for first, after in segment_ranges(words, variant, rng):
        items = [{"start": words[i][0], "end": words[i][1], "word": " " + texts[i]}
                 for i in range(first, after) if texts[i]]
        if items:
            segments.append({"start": items[0]["start"], "end": items[-1]["end"],
                             "text": "".join(w["word"] for w in items).strip(), "words": items})
    return {"segments": segments, "duration": round(duration, 3), "language": "en"}


def build(item):
    """(transcript, script lines, truth) of one text case."""
    lines, topics = episodes.build_script(item)
    rng = random.Random(episodes.seed_of(item["script"] + "/timing"))
    words, duration = timed_words(lines, rng)
    texts = written(words, item["variant"])
    transcript = transcript_of(words, texts, duration, item["variant"],
                               random.Random(episodes.seed_of(item["name"])))
    for line in lines:
        line.pop("voice", None)
    return transcript, lines, episodes.truth_of(item, topics, lines, duration)


def render(item, folder):
    """transcript.json, script.json and truth.json of one text case in `folder`."""
    transcript, lines, truth = build(item)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.json").write_text(json.dumps(transcript))
    (folder / "script.json").write_text(json.dumps({"sentences": lines}, indent=1))
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def write_fixture(folder):
    """unpunctuated.json and unpunctuated_truth.json: a short unpunctuated transcript on four
    topics (episodes.FIXTURE) and its topics, for the test suite."""
    transcript, _, truth = build(episodes.FIXTURE)
    keep = ("duration", "topics", "topic_changes")
    segments = ",\n".join("  " + json.dumps(segment) for segment in transcript["segments"])
    (folder / "unpunctuated.json").write_text(
        f'{{"duration": {transcript["duration"]}, "language": "en", "segments": [\n{segments}\n]}}\n')
    (folder / "unpunctuated_truth.json").write_text(
        json.dumps({key: truth[key] for key in keep}, indent=1) + "\n")
    return transcript, truth
