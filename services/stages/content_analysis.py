"""Stage 3: sentences, chapters, keywords and a speech/silence map → `analysis.json`.

Chapters come from the uploader when yt-dlp found some in the metadata; otherwise from every
cue there is (services/text/topics.py): TextTiling over sentence vectors, the spoken phrases
that open a topic (services/text/cues.py) and the pauses before sentences. Sentences come from
the words' punctuation and timing (services/text/sentences.py). Speech and silence come from
faster-whisper's Silero VAD.
"""

from services.engine.checkpoints import input_fingerprint
from services.engine.context import StageError
from services.media import speech_map
from services.text import cues, keywords, topics
from services.text import vectors as text_vectors
from services.text.sentences import split_sentences

OUTPUTS = ("analysis.json",)
VERSION = 2


def settings_of(ctx):
    """The `analysis` settings."""
    return dict(ctx.settings.get("analysis") or {})


def parameters(ctx):
    """What decides whether an earlier analysis can be reused: its settings and its inputs."""
    section = settings_of(ctx)
    return {"version": VERSION, "vectors": section.get("vectors", "wordllama"),
            "min_chapter_seconds": section.get("min_chapter_seconds", 30),
            "max_chapter_seconds": section.get("max_chapter_seconds", 900),
            "window_seconds": section.get("window_seconds", 20),
            "inputs": input_fingerprint(ctx.episode_dir, "transcript.json", "metadata.json")}


def _creator_chapters(metadata, sentences, duration):
    """Chapters the uploader gave (yt-dlp metadata), aligned to sentences; [] when none."""
    given = [c for c in metadata.get("chapters") or [] if c.get("start") is not None]
    if len(given) < 2:
        return []
    chapters = []
    for index, item in enumerate(given):
        start = float(item["start"])
        end = float(given[index + 1]["start"]) if index + 1 < len(given) else duration
        inside = [s["index"] for s in sentences if start - 0.5 <= s["start"] < end - 0.5]
        if not inside:
            continue
        chapters.append({"start": round(start, 3), "first_sentence": inside[0],
                         "last_sentence": inside[-1], "title": item.get("title") or None,
                         "source": "creator"})
    return chapters


def _chapters_by_topic(ctx, section, sentences, duration):
    method = section.get("vectors", "wordllama")
    try:
        vectors = text_vectors.embed([s["text"] for s in sentences], method)
    except text_vectors.VectorsUnavailable as exc:
        ctx.log.warning("Sentence vectors by %s are not available (%s); using TF-IDF", method, exc)
        method, vectors = "tfidf", text_vectors.embed([s["text"] for s in sentences], "tfidf")
    ctx.progress(1, 2, "steps", "sentence vectors made")
    starts, depths = topics.chapter_starts(
        vectors, sentences, duration, section.get("min_chapter_seconds", 30),
        section.get("max_chapter_seconds", 900), section.get("window_seconds", 20),
        [cues.cue_strength(s["text"]) for s in sentences])
    bounds = starts + [len(sentences)]
    chapters = [{"start": 0.0 if first == 0 else sentences[first]["start"],
                 "first_sentence": first, "last_sentence": after - 1, "title": None,
                 "source": "topics", "depth": depths[first] if first else None}
                for first, after in zip(bounds, bounds[1:])]
    return chapters, method


def run(ctx):
    """Split sentences, find chapters, extract keywords and measure speech and silence."""
    section = settings_of(ctx)
    ctx.sub_stage("Splitting sentences")
    transcript = ctx.read_json("transcript.json", "Transcription (stage 2)")
    metadata = ctx.read_json("metadata.json")
    duration = float(transcript.get("duration") or metadata.get("duration") or 0.0)
    sentences = split_sentences(transcript)
    if not sentences:
        raise StageError("The transcript has no words: there is nothing to analyse.")
    duration = max(duration, sentences[-1]["end"])
    ctx.progress(len(sentences), len(sentences), "sentences", f"{len(sentences)} sentences")

    ctx.sub_stage("Finding topics/chapters")
    chapters, method = _creator_chapters(metadata, sentences, duration), None
    if chapters:
        ctx.log.info("Using the %d chapters the uploader gave (from the media's metadata)",
                     len(chapters))
    else:
        chapters, method = _chapters_by_topic(ctx, section, sentences, duration)
        ctx.log.info("Found %d chapters by topic (TextTiling over %s sentence vectors)",
                     len(chapters), method)
    for index, chapter in enumerate(chapters):
        chapter["index"] = index
        chapter["end"] = chapters[index + 1]["start"] if index + 1 < len(chapters) else duration
    ctx.progress(2, 2, "steps", f"{len(chapters)} chapters")

    ctx.sub_stage("Extracting keywords")
    texts = [" ".join(s["text"] for s in sentences[c["first_sentence"]:c["last_sentence"] + 1])
             for c in chapters]
    per_chapter, episode_keywords = keywords.chapter_keywords(texts)
    for chapter, found in zip(chapters, per_chapter):
        chapter["keywords"] = [item["term"] for item in found]
    ctx.progress(1, 1, "steps", f"{len(episode_keywords)} episode keywords")

    ctx.sub_stage("Measuring speech and silence")
    try:
        segments, _ = speech_map.speech_segments(
            ctx.path("audio.wav"),
            lambda done, total: ctx.progress(round(done, 1), round(total, 1), "s",
                                             f"{done:.0f} s of {total:.0f} s of audio"))
    except FileNotFoundError:
        ctx.log.warning("audio.wav is missing: speech and silence are estimated from the transcript")
        segments = [(s["start"], s["end"]) for s in sentences]
    except (ValueError, EOFError) as exc:
        raise StageError(f"audio.wav cannot be read for speech detection: {exc}") from exc
    for chapter in chapters:
        spoken = speech_map.speech_between(segments, chapter["start"], chapter["end"])
        words = sum(s["words"] for s in sentences[chapter["first_sentence"]:chapter["last_sentence"] + 1])
        length = max(chapter["end"] - chapter["start"], 1e-6)
        chapter["words"] = words
        chapter["speech_ratio"] = round(min(spoken / length, 1.0), 3)
        chapter["speaking_rate_wpm"] = round(words / (spoken / 60), 1) if spoken > 1 else None

    analysis = {
        "duration": round(duration, 3),
        "language": transcript.get("language"),
        "vectors": method,
        "chapter_source": chapters[0]["source"],
        "sentences": sentences,
        "chapters": chapters,
        "keywords": episode_keywords,
        "speech": {"segments": [list(item) for item in segments],
                   **speech_map.summarize(segments, duration)},
    }
    ctx.write_json("analysis.json", analysis)
    ctx.log.info("Analysis: %d sentences, %d chapters, keywords %s, %.0f %% speech",
                 len(sentences), len(chapters),
                 ", ".join(item["term"] for item in episode_keywords[:5]) or "none",
                 100 * analysis["speech"]["speech_ratio"])
    return list(OUTPUTS)
