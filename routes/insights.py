"""A run's insights for the pages: summary, chapters, keywords, highlights and speech facts.

Read from the episode folder's `analysis.json` (stage 3), `segments.json` (stage 4),
`summary.json` and `summary.md` (stage 5). Any of them may be missing or edited by hand into
something else: each part that cannot be read is left out, never an error. Values are checked
one by one, so a page never formats a string as a time.
"""
import logging
import math
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

from services.json_files import read_json_object, read_text_file

log = logging.getLogger(__name__)
AUDIO_FILES = ("audio_hq.flac", "audio.wav")   # the player's source, best first
SUMMARY_HEADING = "## summary"
HEADING_OFFSET = 2                 # summary.md's `#` sits under the card's h2: it becomes h3


def _markdown():
    """CommonMark with raw HTML off (escaped) and no images (no request leaves the page)."""
    md = MarkdownIt("commonmark", {"html": False})
    md.disable("image")
    return md


MARKDOWN = _markdown()


def render_markdown(text, heading_offset=HEADING_OFFSET):
    """Markdown as HTML that is safe to insert: raw HTML escaped, unsafe link schemes refused.

    markdown-it's own link check keeps `javascript:`, `vbscript:`, `file:` and `data:` links
    as plain text; links that remain open in a new context without the opener.
    """
    tokens = MARKDOWN.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + heading_offset, 6)}"
        for child in token.children or ():
            if child.type == "link_open":
                child.attrSet("rel", "noopener noreferrer nofollow")
    return Markup(MARKDOWN.renderer.render(tokens, MARKDOWN.options, {}))


def summary_section(markdown_text):
    """The text under `## Summary` in summary.md, up to the next heading of that level."""
    lines = []
    inside = False
    for line in (markdown_text or "").splitlines():
        if line.strip().lower() == SUMMARY_HEADING:
            inside = True
        elif inside and (line.startswith("## ") or line.startswith("# ")):
            break
        elif inside:
            lines.append(line)
    return "\n".join(lines).strip()


def _number(value):
    """A finite number, or None for anything else (booleans and strings included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value):
    return value.strip() if isinstance(value, str) else ""


def _strings(values):
    """The non-empty strings of a list (anything else is dropped)."""
    if not isinstance(values, list):
        return []
    return [value.strip() for value in values if isinstance(value, str) and value.strip()]


def _dicts(values):
    return [value for value in values if isinstance(value, dict)] if isinstance(values, list) else []


def _chapters(summary, analysis):
    """Chapters from summary.json (titled), else from analysis.json, with speech figures."""
    measured = {}
    for chapter in _dicts((analysis or {}).get("chapters")):
        start = _number(chapter.get("start"))
        if start is not None:
            measured[round(start, 1)] = chapter
    source = _dicts((summary or {}).get("chapters")) or list(measured.values())
    chapters = []
    for number, chapter in enumerate(source, 1):
        start = _number(chapter.get("start"))
        if start is None:
            continue
        figures = measured.get(round(start, 1), {})
        keywords = _strings(chapter.get("keywords")) or _strings(figures.get("keywords"))
        chapters.append({
            "start": start,
            "end": _number(chapter.get("end")),
            "title": _text(chapter.get("title")) or f"Chapter {number}",
            "summary": _text(chapter.get("summary")),
            "keywords": keywords,
            "wpm": _number(figures.get("speaking_rate_wpm")),
            "speech_ratio": _number(figures.get("speech_ratio")),
        })
    return sorted(chapters, key=lambda chapter: chapter["start"])


def _keywords(summary, analysis):
    keywords = _strings((summary or {}).get("keywords"))
    if not keywords:
        keywords = [entry["term"].strip() for entry in _dicts((analysis or {}).get("keywords"))
                    if isinstance(entry.get("term"), str) and entry["term"].strip()]
    return list(dict.fromkeys(keywords))


def _segments(segments):
    """The chosen highlights with a start before their end."""
    highlights = []
    for segment in _dicts((segments or {}).get("segments")):
        start, end = _number(segment.get("start")), _number(segment.get("end"))
        if start is None or end is None or end <= start:
            continue
        highlights.append({"start": start, "end": end,
                           "duration": _number(segment.get("duration")) or end - start,
                           "score": _number(segment.get("score")),
                           "reason": _text(segment.get("reason"))})
    return highlights


def _speech(analysis):
    speech = (analysis or {}).get("speech")
    if not isinstance(speech, dict):
        return None
    facts = {key: _number(speech.get(key)) for key in
             ("speech_ratio", "speech_seconds", "silence_seconds", "pauses", "longest_pause")}
    return facts if any(value is not None for value in facts.values()) else None


def _written_by(summary):
    """Who wrote the summary and titles: {"source": "llm" or "extractive", "model",
    "problem" (why a configured LLM was not used)}, or None before stage 5."""
    if not isinstance(summary, dict) or summary.get("source") not in ("llm", "extractive"):
        return None
    return {"source": summary["source"], "model": _text(summary.get("llm_model")),
            "problem": _text(summary.get("llm_problem")),
            "no_chapter_list": _text(summary.get("youtube_chapters_reason"))}


def load_insights(folder):
    """Everything the run page shows about an episode's content; missing parts are empty."""
    folder = Path(folder)
    analysis = read_json_object(folder / "analysis.json")
    segments = read_json_object(folder / "segments.json")
    summary = read_json_object(folder / "summary.json")
    markdown_text = read_text_file(folder / "summary.md") or ""
    insights = {
        "summary": _text((summary or {}).get("summary")),
        "summary_markdown": summary_section(markdown_text),
        "markdown": markdown_text if markdown_text.strip() else "",
        "chapters": _chapters(summary, analysis),
        "keywords": _keywords(summary, analysis),
        "segments": _segments(segments),
        "speech": _speech(analysis),
        "written_by": _written_by(summary),
        "audio": next((name for name in AUDIO_FILES if (folder / name).is_file()), None),
    }
    insights["any"] = any(insights[key] for key in
                          ("summary", "markdown", "chapters", "keywords", "segments", "speech"))
    return insights


def insights_json(folder):
    """The short form the live monitor shows: summary, chapters, keywords, highlights."""
    insights = load_insights(folder)
    return {
        "summary": insights["summary"] or insights["summary_markdown"],
        "written_by": insights["written_by"],
        "chapters": [{key: chapter[key] for key in ("start", "end", "title", "summary", "keywords")}
                     for chapter in insights["chapters"]],
        "keywords": insights["keywords"],
        "segments": [{key: segment[key] for key in ("start", "end", "reason")}
                     for segment in insights["segments"]],
    }
