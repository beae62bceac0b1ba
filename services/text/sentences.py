"""Sentences with start and end times, from a transcript's words: their punctuation, and their
timing where the punctuation is missing or wrong.

A sentence ends:
- at an end mark (. ! ? … and 。 ？ ！ ؟ of other scripts), unless the word is an abbreviation
  ("Dr.", "U.S.", "e.g."), an initial or a number;
- at a pause between words (PAUSE_SECONDS, or SHORT_PAUSE_SECONDS once it is long), when the
  transcript has few end marks (SPARSE_WORDS or more words to each) or the next word starts
  with a capital, as a sentence does;
- at a comma splice: a comma followed by a word that starts a clause of its own ("…, so
  we…"), or by a pause, once the sentence is long enough to stand alone; and at any comma
  followed by words that open a new topic ("…, moving on to chess", "…, and now for
  something completely different: tea"), so the announcement starts its own sentence;
- when it grows past MAX_SENTENCE_WORDS or MAX_SENTENCE_SECONDS: then it is cut at its widest
  pause, so a transcript with no punctuation at all still yields sentences of sensible length.
"""
import re

from services.text.cues import cue_strength

END_MARK = re.compile(r"[.!?…。？！؟]+[\"'”’)\]]*$")
ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd",
                 "co", "corp", "no", "vol", "fig", "approx", "dept", "est", "mt", "ft", "e.g",
                 "i.e", "a.m", "p.m", "u.s", "u.k", "u.n", "e.u", "ph.d", "jan", "feb", "mar",
                 "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
CLAUSE_STARTS = {"now", "so", "next", "finally", "then", "but", "however", "anyway", "okay",
                 "ok", "alright", "well", "today", "first", "second", "third", "lastly",
                 "meanwhile", "also", "i", "we", "you", "it", "this", "that", "there", "they",
                 "he", "she", "let's", "lets", "our", "my", "here", "what", "how", "why"}
PAUSE_SECONDS = 0.6
SHORT_PAUSE_SECONDS = 0.3
SHORT_PAUSE_AFTER_WORDS = 12
SPLICE_AFTER_WORDS = 6
MAX_SENTENCE_WORDS = 40
MAX_SENTENCE_SECONDS = 20.0
MIN_PART_WORDS = 4
SPARSE_WORDS = 30
CUE_WORDS = 8


def transcript_words(transcript):
    """Every word of the transcript with its times; segments without words are spread evenly."""
    words = []
    for segment in transcript.get("segments") or []:
        if segment.get("words"):
            for word in segment["words"]:
                text = str(word.get("word", "")).strip()
                if text:
                    words.append({"start": float(word["start"]), "end": float(word["end"]),
                                  "text": text})
            continue
        tokens = str(segment.get("text", "")).split()
        start, end = float(segment.get("start", 0.0)), float(segment.get("end", 0.0))
        step = (end - start) / max(len(tokens), 1)
        for index, token in enumerate(tokens):
            words.append({"start": start + index * step, "end": start + (index + 1) * step,
                          "text": token})
    return words


def _bare(text):
    return re.sub(r"^[\"'“‘(\[]+|[\"'”’)\],;:]+$", "", text).lower()


def ends_sentence(text):
    """Whether a word with this text closes its sentence by its punctuation."""
    if not END_MARK.search(text):
        return False
    if text.endswith(("?", "!", "…", "。", "？", "！", "؟")):
        return True
    stem = _bare(text).rstrip(".")
    if stem in ABBREVIATIONS or re.fullmatch(r"[a-z]", stem) or re.fullmatch(r"\d+", stem):
        return False
    return True


def _splices(word, following, length):
    """Whether a comma after `word` ends a clause that the next word starts anew (a word
    that opens clauses, or any word after a pause)."""
    if length < SPLICE_AFTER_WORDS or not word["text"].endswith(",") or following is None:
        return False
    return (_bare(following["text"]) in CLAUSE_STARTS
            or following["start"] - word["end"] >= SHORT_PAUSE_SECONDS)


def _widest_pause(current):
    """The index in `current` after which to cut a run-on stretch: its widest pause that
    leaves both parts at least MIN_PART_WORDS long (the middle when there is none)."""
    low, high = MIN_PART_WORDS - 1, len(current) - MIN_PART_WORDS
    if high < low:
        return len(current) - 1
    return max(range(low, high + 1),
               key=lambda i: (round(current[i + 1]["start"] - current[i]["end"], 2),
                              -abs(i - len(current) // 2)))


def _sentence(words, index):
    text = " ".join(word["text"] for word in words)
    text = re.sub(r"\s+([,.!?;:…。？！؟])", r"\1", text)
    return {"index": index, "start": round(words[0]["start"], 3),
            "end": round(max(words[-1]["end"], words[0]["start"]), 3), "text": text,
            "words": len(words), "pause_before": 0.0}


def _opens_topic(words, position):
    """Whether the words after `position` open a new topic (a spoken cue)."""
    ahead = " ".join(word["text"] for word in words[position + 1:position + 1 + CUE_WORDS])
    return bool(ahead) and cue_strength(ahead) >= 1.0


def _breaks_after(current, words, position, sparse):
    """Whether the sentence `current` ends after words[position], its last word; `sparse`:
    the transcript's punctuation is too thin to go by alone."""
    word = words[position]
    following = words[position + 1] if position + 1 < len(words) else None
    if ends_sentence(word["text"]) or _splices(word, following, len(current)):
        return True
    if (word["text"].endswith(",") and len(current) >= MIN_PART_WORDS
            and _opens_topic(words, position)):
        return True
    if following is None:
        return False
    opens = sparse or re.match(r"[\"'“(]*[A-Z]", following["text"]) is not None
    pause = following["start"] - word["end"]
    return opens and (pause >= PAUSE_SECONDS or (pause >= SHORT_PAUSE_SECONDS
                                                 and len(current) >= SHORT_PAUSE_AFTER_WORDS))


def split_sentences(transcript):
    """[{index, start, end, text, words, pause_before}] in order (see the module's notes)."""
    words = transcript_words(transcript)
    marks = sum(1 for word in words if ends_sentence(word["text"]))
    sparse = len(words) >= SPARSE_WORDS * (marks + 1)
    parts, current = [], []
    for position, word in enumerate(words):
        current.append(word)
        if _breaks_after(current, words, position, sparse):
            parts.append(current)
            current = []
            continue
        while (len(current) > MAX_SENTENCE_WORDS
               or current[-1]["end"] - current[0]["start"] > MAX_SENTENCE_SECONDS):
            if len(current) < 2 * MIN_PART_WORDS:
                break
            cut = _widest_pause(current)
            parts.append(current[:cut + 1])
            current = current[cut + 1:]
    if current:
        parts.append(current)
    sentences = [_sentence(part, index) for index, part in enumerate(parts)]
    for before, after in zip(sentences, sentences[1:]):
        after["pause_before"] = round(max(after["start"] - before["end"], 0.0), 3)
    return sentences
