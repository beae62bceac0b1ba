"""Stage 5: a summary, chapter summaries and chapter titles → `summary.md`, `chapters.txt`.

Extractive by default: LexRank over the sentence vectors picks the sentences that are most
central to the episode (5–7, in their original order), and to each chapter (one or two).
Titles are key phrases. With `llm.url` set, an OpenAI-compatible endpoint may write the
summary and titles instead; on any failure the extractive result is kept and the log says why.
"""
import re

import numpy as np

from services.engine.checkpoints import input_fingerprint
from services.formatting import format_clock
from services.text import vectors as text_vectors
from services.text.llm import LlmError, chat_json
from services.text.titles import chapter_titles
from services.text.youtube_chapters import chapter_lines, check_chapter_lines

OUTPUTS = ("summary.md", "chapters.txt", "summary.json")
VERSION = 2
SIMILARITY_THRESHOLD = 0.1
REDUNDANT = 0.92
LLM_TRANSCRIPT_CHARS = 24000
MAX_TITLE_WORDS = 8


def parameters(ctx):
    """What decides whether an earlier summary can be reused."""
    llm = ctx.settings.get("llm") or {}
    return {"version": VERSION, "llm": bool(llm.get("url")), "llm_model": llm.get("model"),
            "inputs": input_fingerprint(ctx.episode_dir, "analysis.json", "segments.json",
                                        "metadata.json")}


def lexrank(vectors, threshold=SIMILARITY_THRESHOLD, damping=0.85, iterations=100):
    """Centrality of each sentence: PageRank over the graph of cosine similarities."""
    count = len(vectors)
    if count == 0:
        return np.zeros(0)
    similarity = vectors @ vectors.T
    graph = (similarity > threshold).astype(float)
    degrees = graph.sum(axis=1, keepdims=True)
    degrees[degrees == 0] = 1.0
    transition = graph / degrees
    scores = np.full(count, 1.0 / count)
    for _ in range(iterations):
        updated = (1 - damping) / count + damping * transition.T @ scores
        if np.abs(updated - scores).sum() < 1e-9:
            scores = updated
            break
        scores = updated
    return scores


def pick(indices, scores, vectors, count):
    """The `count` best-scored sentences of `indices`, none nearly repeating another, in order."""
    chosen = []
    for index in sorted(indices, key=lambda i: (-scores[i], i)):
        if len(chosen) >= count:
            break
        if all(float(vectors[index] @ vectors[other]) < REDUNDANT for other in chosen):
            chosen.append(index)
    return sorted(chosen)


def summary_length(sentence_count):
    """5 sentences for a short episode, up to 7 for a long one (never more than there are)."""
    wanted = 5 if sentence_count < 120 else 6 if sentence_count < 400 else 7
    return min(wanted, sentence_count)


def _ask_llm(ctx, llm, title, chapters, sentences):
    transcript = " ".join(s["text"] for s in sentences)[:LLM_TRANSCRIPT_CHARS]
    outline = "\n".join(f"{i + 1}. {format_clock(c['start'])}: "
                        + " ".join(s["text"] for s in sentences[c["first_sentence"]:c["last_sentence"] + 1])[:600]
                        for i, c in enumerate(chapters))
    answer = chat_json(
        llm, "You summarise talks. Answer with JSON only.",
        f"Title: {title or 'unknown'}\n\nChapters, each with its start and text:\n{outline}\n\n"
        f"Transcript:\n{transcript}\n\nReturn a JSON object with \"summary\" (5 to 7 sentences) "
        f"and \"chapter_titles\" (a list of exactly {len(chapters)} distinct titles of 2 to 5 "
        f"words, each a noun phrase naming the chapter's topic, in order).")
    return checked_answer(answer, len(chapters))


def checked_answer(answer, count):
    """(summary, titles) from the endpoint's JSON answer; LlmError unless the summary is text
    of at most 5000 characters and there are `count` distinct titles of 1 to MAX_TITLE_WORDS
    words (list numbers and quotes around them are dropped)."""
    summary, titles = answer.get("summary"), answer.get("chapter_titles")
    if not isinstance(summary, str) or not summary.strip() or len(summary) > 5000:
        raise LlmError("its answer had no usable summary")
    if not isinstance(titles, list) or len(titles) != count:
        raise LlmError(f"its answer did not have {count} chapter titles")
    cleaned = []
    for title in titles:
        text = " ".join(str(title).split()) if isinstance(title, str) else ""
        text = re.sub(r"^(?:\d+[.)]\s*)", "", text).strip(" \"'“”‘’")
        if not 0 < len(text.split()) <= MAX_TITLE_WORDS or len(text) > 80:
            raise LlmError(f"its chapter title {str(title)[:40]!r} is not 1 to "
                           f"{MAX_TITLE_WORDS} words")
        cleaned.append(text)
    if len({text.lower() for text in cleaned}) != len(cleaned):
        raise LlmError("its chapter titles repeat")
    return " ".join(summary.split()), cleaned


def markdown(title, summary, chapters, keywords_list, highlights):
    """summary.md: the summary, the chapters with their summaries, key terms and highlights."""
    lines = [f"# {title or 'Episode summary'}", "", "## Summary", "", summary, "", "## Chapters", ""]
    for chapter in chapters:
        lines += [f"### {format_clock(chapter['start'])} {chapter['title']}", "", chapter["summary"], ""]
    if keywords_list:
        lines += ["## Key terms", "", ", ".join(keywords_list), ""]
    if highlights:
        lines += ["## Highlights", ""]
        lines += [f"- {format_clock(h['start'])}–{format_clock(h['end'])}: {h['text']}" for h in highlights]
        lines.append("")
    return "\n".join(lines)


def run(ctx):
    """Summarise the episode and its chapters, title the chapters, write the chapter list."""
    ctx.sub_stage("Summarizing episode")
    analysis = ctx.read_json("analysis.json", "Content Analysis (stage 3)")
    segments = ctx.read_json("segments.json").get("segments") or []
    metadata = ctx.read_json("metadata.json")
    sentences = analysis.get("sentences") or []
    chapters = [dict(c) for c in analysis.get("chapters") or []]
    duration = float(analysis.get("duration") or 0.0)
    vectors = text_vectors.embed([s["text"] for s in sentences], analysis.get("vectors") or "tfidf")
    scores = lexrank(vectors)
    chosen = pick(range(len(sentences)), scores, vectors, summary_length(len(sentences)))
    summary = " ".join(sentences[i]["text"] for i in chosen)
    ctx.progress(1, 1, "steps", f"{len(chosen)} sentences chosen")

    ctx.sub_stage("Summarizing chapters")
    for number, chapter in enumerate(chapters, start=1):
        inside = list(range(chapter["first_sentence"], chapter["last_sentence"] + 1))
        if inside:
            local = lexrank(vectors[inside])
            best = pick(range(len(inside)), local, vectors[inside], 2 if len(inside) >= 8 else 1)
            chapter["summary"] = " ".join(sentences[inside[i]]["text"] for i in best)
        else:
            chapter["summary"] = ""
        ctx.progress(number, len(chapters), "chapters", f"chapter {number} of {len(chapters)}")

    ctx.sub_stage("Titling chapters")
    phrases = chapter_titles(chapters, sentences)
    for chapter, phrase in zip(chapters, phrases):
        chapter["title"] = chapter.get("title") or phrase
    source, llm_problem = "extractive", None
    llm = ctx.settings.get("llm") or {}
    if llm.get("url") and chapters:
        try:
            summary, titles = _ask_llm(ctx, llm, metadata.get("title"), chapters, sentences)
        except LlmError as exc:
            llm_problem = str(exc)
            ctx.log.warning("The LLM summary was not used (%s); the extractive summary is kept", exc)
        else:
            source = "llm"
            for chapter, title in zip(chapters, titles):
                chapter["title"] = title
            ctx.log.info("Summary and chapter titles written by the LLM (%s)", llm.get("model"))
    ctx.progress(len(chapters), len(chapters), "chapters", "chapters titled")

    lines = chapter_lines(chapters, duration)
    problems = check_chapter_lines(lines, duration)
    outputs = list(OUTPUTS)
    if problems:   # YouTube would ignore the list: none is written, and summary.json says why
        ctx.log.info("No chapters.txt: %s", "; ".join(problems))
        ctx.path("chapters.txt").unlink(missing_ok=True)
        outputs.remove("chapters.txt")
    else:
        ctx.write_text("chapters.txt", "\n".join(lines) + "\n")
    episode_keywords = [item["term"] for item in analysis.get("keywords") or []]
    ctx.write_text("summary.md", markdown(metadata.get("title"), summary, chapters,
                                          episode_keywords, segments))
    ctx.write_json("summary.json", {
        "source": source, "llm_model": llm.get("model") if source == "llm" else None,
        "llm_problem": llm_problem, "summary": summary,
        "summary_sentences": chosen if source == "extractive" else [],
        "keywords": episode_keywords, "youtube_chapters_ok": not problems,
        "youtube_chapters_reason": "; ".join(problems) or None,
        "chapters": [{key: c.get(key) for key in ("index", "start", "end", "title", "summary",
                                                   "keywords", "source")} for c in chapters],
    })
    ctx.log.info("Summary: %d sentences; %d chapters: %s", len(chosen), len(chapters),
                 "; ".join(c["title"] for c in chapters))
    return outputs
