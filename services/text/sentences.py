"""Sentences with start and end times, from a transcript's word timestamps and punctuation."""
import re

END_PUNCTUATION = re.compile(r"[.!?…]+[\"')\]]*$")
MAX_SENTENCE_SECONDS = 30.0   # a run-on stretch without punctuation is cut here
MAX_SENTENCE_WORDS = 60


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


def split_sentences(transcript):
    """[{index, start, end, text, words}] in order; a sentence ends at . ! ? (or when too long)."""
    sentences, current = [], []

    def close():
        if current:
            text = " ".join(word["text"] for word in current)
            text = re.sub(r"\s+([,.!?;:…])", r"\1", text)
            sentences.append({"index": len(sentences), "start": round(current[0]["start"], 3),
                              "end": round(max(current[-1]["end"], current[0]["start"]), 3),
                              "text": text, "words": len(current)})
            current.clear()

    for word in transcript_words(transcript):
        current.append(word)
        too_long = (word["end"] - current[0]["start"] > MAX_SENTENCE_SECONDS
                    or len(current) >= MAX_SENTENCE_WORDS)
        if END_PUNCTUATION.search(word["text"]) or too_long:
            close()
    close()
    return sentences
