"""Stage 4: choose the highlight segments → `segments.json`.

Candidates start at a sentence start and end at a sentence end (padded into the silence
around them), inside one chapter, and start at a sentence that stands on its own (not one
that opens with "and", "but", "which", "it" …, which leans on the sentence before). Each is scored by centrality (how close it is to the whole episode), keyword
density, YouTube's "most replayed" heatmap when there is one, and the share of speech; the
best non-overlapping ones are kept. The result depends only on the inputs (deterministic).
"""
import re

import numpy as np

from services.engine.checkpoints import input_fingerprint
from services.formatting import format_clock
from services.media import speech_map
from services.text import vectors as text_vectors

OUTPUTS = ("segments.json",)
VERSION = 2
# A sentence opening with one of these leans on the one before: no highlight starts there.
LEANING = re.compile(r"^[\"'“(]*(?:and|but|or|nor|so|because|which|who|whom|whose|then|also|too|"
                     r"it|its|it's|this|that|these|those|they|them|their|he|she|him|her|his|"
                     r"here|there's|such|yet|still|plus)\b", re.IGNORECASE)
WEIGHTS = {"centrality": 0.45, "keywords": 0.25, "heatmap": 0.15, "speech": 0.15}
DEFAULTS = {"count": 3, "min_seconds": 15.0, "max_seconds": 60.0, "min_gap_seconds": 5.0,
            "padding_seconds": 0.3, "review": False}


def settings_of(ctx):
    """The `segments` settings over their defaults."""
    return {**DEFAULTS, **(ctx.settings.get("segments") or {})}


def parameters(ctx):
    """What decides whether earlier segments can be reused: the settings and the inputs."""
    section = settings_of(ctx)
    return {"version": VERSION, **{key: section[key] for key in
                                   ("count", "min_seconds", "max_seconds", "min_gap_seconds",
                                    "padding_seconds")},
            "inputs": input_fingerprint(ctx.episode_dir, "analysis.json", "metadata.json")}


def _keyword_hits(sentences, terms):
    patterns = [re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE) for term in terms]
    return np.array([sum(len(p.findall(s["text"])) * len(p.pattern.split()) for p in patterns)
                     for s in sentences], dtype=float)


def _heat(heatmap, start, end):
    values = [item["value"] for item in heatmap if item["end"] > start and item["start"] < end]
    return float(np.mean(values)) if values else 0.0


def candidates(sentences, vectors, speech, heatmap, terms, section, chapter_of=None):
    """Every window of whole sentences within the length bounds and inside one chapter (a
    highlight tells one story), with its raw feature values."""
    count = len(sentences)
    chapter_of = chapter_of or [0] * count
    cumulative = np.vstack([np.zeros((1, vectors.shape[1])), np.cumsum(vectors, axis=0)])
    episode = cumulative[-1] / (np.linalg.norm(cumulative[-1]) or 1.0)
    hits = np.concatenate([[0.0], np.cumsum(_keyword_hits(sentences, terms))])
    words = np.concatenate([[0.0], np.cumsum([s["words"] for s in sentences])])
    found = []
    for first in range(count):
        if LEANING.match(sentences[first]["text"]) and first > 0:
            continue
        for last in range(first, count):
            start, end = sentences[first]["start"], sentences[last]["end"]
            length = end - start
            if length > section["max_seconds"]:
                break
            if chapter_of[last] != chapter_of[first]:
                break
            if length < section["min_seconds"]:
                continue
            window = cumulative[last + 1] - cumulative[first]
            norm = np.linalg.norm(window) or 1.0
            found.append({
                "first_sentence": first, "last_sentence": last, "start": start, "end": end,
                "centrality": float(window @ episode / norm),
                "keywords": float((hits[last + 1] - hits[first]) / max(words[last + 1] - words[first], 1)),
                "heatmap": _heat(heatmap, start, end) if heatmap else None,
                "speech": min(speech_map.speech_between(speech, start, end) / max(length, 1e-6), 1.0),
            })
    return found


def score(found, has_heatmap):
    """Each feature scaled to 0-1 over the candidates, then weighted; returns the weights used."""
    weights = dict(WEIGHTS)
    if not has_heatmap:
        weights.pop("heatmap")
    total = sum(weights.values())
    weights = {key: value / total for key, value in weights.items()}
    for key in weights:
        values = np.array([c[key] for c in found], dtype=float)
        low, high = float(values.min()), float(values.max())
        for candidate, value in zip(found, values):
            candidate.setdefault("scaled", {})[key] = (value - low) / (high - low) if high > low else 1.0
    for candidate in found:
        candidate["score"] = round(sum(weights[k] * candidate["scaled"][k] for k in weights), 4)
    return weights


def choose(found, section):
    """The best candidates that do not overlap, at least `min_gap_seconds` apart, in time order."""
    chosen = []
    for candidate in sorted(found, key=lambda c: (-c["score"], c["start"], c["end"])):
        if len(chosen) >= int(section["count"]):
            break
        gap = section["min_gap_seconds"]
        if all(candidate["end"] + gap <= other["start"] or candidate["start"] >= other["end"] + gap
               for other in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: c["start"])


def _reason(candidate, rank_share, terms_inside, has_heatmap):
    if rank_share <= 25:
        parts = [f"close to the episode's main themes (centrality {candidate['centrality']:.2f}, "
                 f"in the top {max(rank_share, 1):.0f} % of {candidate['candidates']} candidates)"]
    else:
        parts = [f"the strongest part of its chapter (centrality {candidate['centrality']:.2f})"]
    if terms_inside:
        parts.append(f"dense in key terms ({', '.join(terms_inside[:4])})")
    if has_heatmap and candidate["scaled"].get("heatmap", 0) >= 0.5:
        parts.append("often replayed by viewers")
    parts.append(f"{candidate['speech'] * 100:.0f} % speech")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def run(ctx):
    """Score candidate windows and keep the best `count` (default 3)."""
    section = settings_of(ctx)
    ctx.sub_stage("Scoring candidates")
    analysis = ctx.read_json("analysis.json", "Content Analysis (stage 3)")
    metadata = ctx.read_json("metadata.json")
    sentences = analysis.get("sentences") or []
    duration = float(analysis.get("duration") or 0.0)
    speech = [tuple(item) for item in (analysis.get("speech") or {}).get("segments") or []]
    heatmap = metadata.get("heatmap") or []
    terms = [item["term"] for item in analysis.get("keywords") or []]
    vectors = text_vectors.embed([s["text"] for s in sentences], analysis.get("vectors") or "tfidf")
    chapter_of = [0] * len(sentences)
    for chapter in analysis.get("chapters") or []:
        for index in range(chapter["first_sentence"], min(chapter["last_sentence"] + 1, len(sentences))):
            chapter_of[index] = chapter["index"]
    found = candidates(sentences, vectors, speech, heatmap, terms, section, chapter_of) if sentences else []
    if not found and sentences:  # chapters or media shorter than the minimum: the longest window
        found = candidates(sentences, vectors, speech, heatmap, terms,
                           dict(section, min_seconds=0.0, max_seconds=duration + 1))[-1:]
    weights = score(found, bool(heatmap)) if found else {}
    ctx.progress(len(found), len(found), "candidates", f"{len(found)} candidate windows scored")
    ctx.log.info("Scored %d candidate windows%s", len(found),
                 " with the viewers' heatmap" if heatmap else "")

    ctx.sub_stage("Choosing segments")
    chosen = choose(found, section)
    ranked = sorted(found, key=lambda c: -c["centrality"])
    padding = float(section["padding_seconds"])
    segments = []
    for index, candidate in enumerate(chosen):
        first, last = candidate["first_sentence"], candidate["last_sentence"]
        before = sentences[first - 1]["end"] if first > 0 else 0.0
        after = sentences[last + 1]["start"] if last + 1 < len(sentences) else duration
        start = max(candidate["start"] - padding, before, 0.0)
        end = min(candidate["end"] + padding, after, duration) if duration else candidate["end"] + padding
        text = " ".join(s["text"] for s in sentences[first:last + 1])
        candidate["candidates"] = len(found)
        share = 100 * (ranked.index(candidate) + 1) / len(found)
        inside = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE)]
        segments.append({
            "index": index, "start": round(start, 3), "end": round(end, 3),
            "duration": round(end - start, 3), "first_sentence": first, "last_sentence": last,
            "text": text, "score": candidate["score"],
            "scores": {key: round(candidate[key], 4) if candidate[key] is not None else None
                       for key in WEIGHTS},
            "reason": _reason(candidate, share, inside, bool(heatmap)),
        })
        ctx.log.info("Segment %d: %s-%s (score %.2f)", index + 1, format_clock(start),
                     format_clock(end), candidate["score"])
    ctx.progress(len(segments), len(segments), "segments", f"{len(segments)} segments chosen")

    ctx.sub_stage("Awaiting review")
    if section.get("review"):
        ctx.log.info("Segments proposed; manual review comes in a later version, so they are "
                     "kept as proposed")
    else:
        ctx.log.info("No review asked for: the proposed segments are used as they are")
    ctx.write_json("segments.json", {
        "status": "proposed" if section.get("review") else "confirmed",
        "parameters": {key: section[key] for key in DEFAULTS if key != "review"},
        "weights": {key: round(value, 3) for key, value in weights.items()},
        "candidates": len(found),
        "segments": segments,
    })
    return list(OUTPUTS)
