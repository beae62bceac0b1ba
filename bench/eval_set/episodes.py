"""The episodes of the evaluation set: their shapes, and the script each shape gives.

A script is a list of sentences, each with its topic, its voice and the pause before it. It
depends only on the shape and a seed made from the script's name, so a clean and a noisy
version of one episode (same `script`) say exactly the same words.
"""
import random
import zlib

from eval_set import corpus

# espeak-ng voices: name, speed (words a minute as espeak-ng counts them), pitch (0-99).
# mbrola voices are used where installed and replaced by `fallback` where not.
VOICES = {
    "us": {"voice": "en-us", "speed": 160, "pitch": 50},
    "gb": {"voice": "en-gb", "speed": 155, "pitch": 42},
    "rp": {"voice": "en-gb-x-rp", "speed": 165, "pitch": 38},
    "usf": {"voice": "en-us+f3", "speed": 170, "pitch": 62},
    "sc": {"voice": "en-gb-scotland+m3", "speed": 150, "pitch": 35},
    "usf2": {"voice": "en-us+f2", "speed": 175, "pitch": 58},
    "fast": {"voice": "en-us", "speed": 190, "pitch": 48},
    "slow": {"voice": "en-gb", "speed": 135, "pitch": 45},
    "mb1": {"voice": "mb-us1", "speed": 160, "pitch": 50, "fallback": "usf"},
    "mb2": {"voice": "mb-us2", "speed": 155, "pitch": 45, "fallback": "gb"},
}
# espeak-ng speaks about this many words a second per unit of its speed setting.
WORDS_PER_SECOND_PER_SPEED = 1.13 / 60
TEXT_WORDS_PER_SECOND = 2.5
DEFAULTS = {"kind": "audio", "voices": ("us",), "turns": "one", "announce": "all",
            "topic_pause": 1.0, "sentence_pause": (0.15, 0.5), "noise": None,
            "variant": "punct", "topic_names": None, "balanced": False}


def spec(name, minutes, topics, **fields):
    """One episode's shape; `script` (default: the name) seeds its words."""
    return {**DEFAULTS, "name": name, "minutes": minutes, "topics": topics,
            "script": fields.pop("script", name), **fields}


def version_of(base, name, **changes):
    """Another rendering of `base`'s script (noise added, another punctuation)."""
    return {**base, "name": name, **changes}


_A04 = spec("a04_4min_2v_4t", 4, 4, voices=("gb", "usf"), turns="hosts", announce="some",
            topic_pause=1.2)
_A06 = spec("a06_5min_3v_4t", 5, 4, voices=("us", "rp", "usf2"), turns="turns",
            announce="none", topic_pause=0.3)
_T01 = spec("t01_5min_4t_punct", 5, 4, kind="text", announce="all", topic_pause=0.8)
AUDIO = [
    spec("a01_1min_1v_2t", 1, 2, voices=("us",), topic_pause=0.8),
    spec("a02_3min_1v_3t_plain", 3, 3, voices=("gb",), announce="none"),
    spec("a03_3min_2v_3t_pink15", 3, 3, voices=("us", "usf"), turns="turns", topic_pause=0.6,
         noise=("pink", 15)),
    _A04, version_of(_A04, "a05_4min_2v_4t_brown12", noise=("brown", 12)),
    _A06, version_of(_A06, "a07_5min_3v_4t_pink10", noise=("pink", 10)),
    spec("a08_6min_1v_5t_fast_pink20", 6, 5, voices=("fast",), topic_pause=0.2,
         sentence_pause=(0.15, 0.3), noise=("pink", 20)),
    spec("a09_3min_2v_2t_dialogue_brown18", 3, 2, voices=("sc", "usf"), turns="dialogue",
         announce="none", topic_pause=0.5, noise=("brown", 18)),
    spec("a10_6min_2v_6t", 6, 6, voices=("mb1", "rp"), turns="turns", announce="some",
         topic_pause=1.5),
    spec("a11_10min_2v_6t_pink15", 10, 6, voices=("us", "mb2"), turns="turns",
         announce="some", topic_pause=0.8, noise=("pink", 15)),
    spec("a12_8min_1v_3t_plain", 8, 3, voices=("rp",), announce="none", topic_pause=0.4),
    spec("a13_20min_3v_8t_brown15", 20, 8, voices=("gb", "usf", "us"), turns="hosts",
         announce="some", topic_pause=1.0, noise=("brown", 15)),
    spec("a14_2min_1v_2t_slow", 2, 2, voices=("slow",), topic_pause=1.5),
]
TEXT = [
    _T01, version_of(_T01, "t02_5min_4t_unpunct", variant="unpunct"),
    version_of(_T01, "t03_5min_4t_splice", variant="splice"),
    spec("t04_3min_3t_unpunct_plain", 3, 3, kind="text", announce="none", variant="unpunct",
         topic_pause=0.5),
    spec("t05_20min_8t_punct", 20, 8, kind="text", announce="some", topic_pause=1.0),
    spec("t06_12min_6t_unpunct", 12, 6, kind="text", announce="some", variant="unpunct",
         topic_pause=0.7),
    spec("t07_2min_2t_splice_plain", 2, 2, kind="text", announce="none", variant="splice",
         topic_pause=0.3),
    spec("t08_30min_5t_unpunct_plain", 30, 5, kind="text", announce="none", variant="unpunct",
         topic_pause=1.0),
]
FIXTURE = spec("unpunctuated", 3.7, 4, kind="text", announce="some", variant="unpunct",
               topic_pause=0.8, balanced=True, topic_names=("Lighthouses", "Honey bees", "Chess", "Volcanoes"))
QUICK = ("a01_1min_1v_2t", "a03_3min_2v_3t_pink15", "a09_3min_2v_2t_dialogue_brown18",
         "t02_5min_4t_unpunct", "t07_2min_2t_splice_plain")


def every_spec():
    return AUDIO + TEXT


def seed_of(text):
    return zlib.crc32(text.encode())


def shape_label(item):
    """A short description: voices, topics, announced, noise or punctuation."""
    parts = [f"{item['topics']}t", f"ann:{item['announce']}"]
    if item["kind"] == "audio":
        parts.insert(0, f"{len(item['voices'])}v")
        parts.append(f"{item['noise'][0]} {item['noise'][1]} dB" if item["noise"] else "clean")
        if item["turns"] in ("hosts", "dialogue"):
            parts.append(item["turns"])
    else:
        parts.insert(0, "text")
        parts.append(item["variant"])
    return " ".join(parts)


def words_per_second(item, voices):
    if item["kind"] == "text":
        return TEXT_WORDS_PER_SECOND
    speeds = [voices[key]["speed"] for key in item["voices"]]
    return sum(speeds) / len(speeds) * WORDS_PER_SECOND_PER_SPEED


def announced_flags(item, rng):
    count = item["topics"]
    if item["announce"] in ("all", "none"):
        return [item["announce"] == "all"] * count
    flags = [rng.random() < 0.5 for _ in range(count)]
    if count >= 2 and len(set(flags)) == 1:   # "some": at least one of each
        flags[rng.randrange(count)] = not flags[0]
    return flags


def voice_turns(item, rng, topic_of_line):
    """The voice key of each line: one voice, turns of 2-6 sentences, one voice per topic
    ("hosts") or turns of 1-2 sentences ("dialogue")."""
    keys, chosen, left, current = item["voices"], [], 0, 0
    for index, topic_index in enumerate(topic_of_line):
        if item["turns"] == "hosts":
            current = topic_index % len(keys)
        elif item["turns"] in ("turns", "dialogue") and index > 0 and left <= 0:
            current = (current + 1) % len(keys)
        if left <= 0:
            left = rng.randint(1, 2) if item["turns"] == "dialogue" else rng.randint(2, 6)
        left -= 1
        chosen.append(keys[current])
    return chosen


def build_script(item, voices=VOICES):
    """[{text, topic, voice, pause}] and the topics, for one shape (deterministic)."""
    rng = random.Random(seed_of(item["script"]))
    if item["topic_names"]:
        topics = [corpus.by_name(name) for name in item["topic_names"]]
    else:
        topics = rng.sample(corpus.all_topics(), item["topics"])
    rate = words_per_second(item, voices)
    low, high = item["sentence_pause"]
    spread = 0.15 if item["balanced"] else 0.4
    weights = [rng.uniform(1 - spread, 1 + spread) for _ in topics]
    total = item["minutes"] * 60 - item["topic_pause"] * (len(topics) - 1) - 1.0
    announced = announced_flags(item, rng)
    used, lines = set(), []
    for index, subject in enumerate(topics):
        seconds = total * weights[index] / sum(weights)
        opening = (corpus.announcement(subject, index, len(topics), rng, intro=index == 0)
                   if announced[index] else [])
        opening_seconds = sum(len(t.split()) for t in opening) / rate
        body = corpus.topic_sentences(subject, rng, seconds - opening_seconds, rate,
                                      (low + high) / 2, used)
        for position, text in enumerate(opening + body):
            pause = item["topic_pause"] if index and not position else rng.uniform(low, high)
            lines.append({"text": text, "topic": index, "pause": round(pause, 3)})
    keys = voice_turns(item, rng, [line["topic"] for line in lines])
    for line, key in zip(lines, keys):
        line["voice"] = key
    return lines, [{"name": t.name, "head_nouns": list(t.heads), "announced": flag}
                   for t, flag in zip(topics, announced)]


def truth_of(item, topics, lines, duration):
    """truth.json: the topics with their spoken spans, and the times of the topic changes."""
    spans = []
    for index, subject in enumerate(topics):
        inside = [line for line in lines if line["topic"] == index]
        spans.append({**subject, "start": inside[0]["start"], "end": inside[-1]["end"]})
    return {"name": item["name"], "kind": item["kind"], "shape": shape_label(item),
            "duration": round(duration, 3), "topics": spans,
            "topic_changes": [span["start"] for span in spans[1:]],
            "spec": item}
