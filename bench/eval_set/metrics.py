"""Chapter quality measures against an episode's truth.json.

- Boundaries: a found chapter start (other than the first) matches a true topic change within
  TOLERANCE seconds; each is matched at most once, closest pairs first.
- Pk and WindowDiff on a 1-second grid, k = half the mean true topic length (Beeferman et al.;
  Pevzner and Hearst). Lower is better; 0 is perfect.
- Titles: each chapter goes to the true topic it overlaps most; its title names that topic when
  one of the topic's head stems starts a word of the lowercased title.
- Highlights: a highlight lies inside one true topic's spoken span, with SLACK seconds at each
  edge.
"""
import re

TOLERANCE = 5.0
SLACK = 1.0


def match_boundaries(true_changes, found, tolerance=TOLERANCE):
    """The number of found boundaries matched one-to-one to true changes within `tolerance`."""
    pairs = sorted((abs(t - f), i, j) for i, t in enumerate(true_changes)
                   for j, f in enumerate(found) if abs(t - f) <= tolerance)
    used_true, used_found, matched = set(), set(), 0
    for _, i, j in pairs:
        if i not in used_true and j not in used_found:
            used_true.add(i)
            used_found.add(j)
            matched += 1
    return matched


def _labels(boundaries, seconds):
    """The segment number of each second of the grid."""
    ordered, labels, current = sorted(boundaries), [], 0
    for second in range(seconds):
        while current < len(ordered) and ordered[current] <= second:
            current += 1
        labels.append(current)
    return labels


def pk_windowdiff(true_changes, found, duration):
    """(Pk, WindowDiff) of the found boundaries against the true ones."""
    seconds = max(int(duration) + 1, 2)
    k = max(1, round(duration / (len(true_changes) + 1) / 2))
    k = min(k, seconds - 1)
    ref, hyp = _labels(true_changes, seconds), _labels(found, seconds)
    windows = seconds - k
    pk = sum((ref[i] == ref[i + k]) != (hyp[i] == hyp[i + k]) for i in range(windows)) / windows
    wd = sum((ref[i + k] - ref[i]) != (hyp[i + k] - hyp[i]) for i in range(windows)) / windows
    return pk, wd


def topic_areas(truth):
    """Each true topic's [start, end) over the whole timeline (a topic runs to the next one)."""
    topics, areas = truth["topics"], []
    for index, topic in enumerate(topics):
        start = 0.0 if index == 0 else topic["start"]
        end = topics[index + 1]["start"] if index + 1 < len(topics) else truth["duration"]
        areas.append((start, end))
    return areas


def names_topic(title, heads):
    text = (title or "").lower()
    return any(re.search(r"\b" + re.escape(head.lower()), text) for head in heads)


def title_hits(truth, chapters):
    """[(title, topic name, named)] of each chapter (start, title; end, else the next start)."""
    areas, found = topic_areas(truth), []
    for index, chapter in enumerate(chapters):
        start = float(chapter["start"])
        following = chapters[index + 1]["start"] if index + 1 < len(chapters) else truth["duration"]
        end = float(chapter.get("end") if chapter.get("end") is not None else following)
        overlaps = [max(0.0, min(end, b) - max(start, a)) for a, b in areas]
        topic = truth["topics"][overlaps.index(max(overlaps))]
        found.append((chapter.get("title"), topic["name"],
                      names_topic(chapter.get("title"), topic["head_nouns"])))
    return found


def highlight_hits(truth, highlights, slack=SLACK):
    """Whether each highlight (start, end) lies inside one true topic's spoken span."""
    return [any(t["start"] - slack <= float(h["start"]) and float(h["end"]) <= t["end"] + slack
                for t in truth["topics"]) for h in highlights]


def score(truth, chapter_starts, chapters, highlights):
    """The measures of one episode: counts for pooling, and its own ratios."""
    true_changes = truth["topic_changes"]
    found = sorted(chapter_starts)[1:]
    matched = match_boundaries(true_changes, found)
    pk, wd = pk_windowdiff(true_changes, found, truth["duration"])
    titles = title_hits(truth, chapters)
    inside = highlight_hits(truth, highlights)
    return {"true": len(true_changes) + 1, "found": len(found) + 1, "matched": matched,
            "true_changes": len(true_changes), "found_changes": len(found),
            "recall": matched / len(true_changes) if true_changes else None,
            "precision": matched / len(found) if found else None,
            "pk": pk, "windowdiff": wd,
            "titles_ok": sum(hit for *_, hit in titles), "titles": len(titles),
            "title_list": titles,
            "highlights_ok": sum(inside), "highlights": len(inside)}


def pooled(rows):
    """Totals over episodes: recall and precision over all boundaries, mean Pk and WindowDiff,
    shares of all titles and highlights, and seconds of stages 3-5 per hour of speech."""
    def share(ok, total):
        return sum(r[ok] for r in rows) / max(sum(r[total] for r in rows), 1)

    hours = sum(r["duration"] for r in rows) / 3600
    return {"recall": share("matched", "true_changes"),
            "precision": share("matched", "found_changes"),
            "pk": sum(r["pk"] for r in rows) / len(rows),
            "windowdiff": sum(r["windowdiff"] for r in rows) / len(rows),
            "titles": share("titles_ok", "titles"), "highlights": share("highlights_ok", "highlights"),
            "seconds_per_hour": sum(r["stage_seconds"] for r in rows) / hours if hours else 0.0,
            "true": sum(r["true"] for r in rows), "found": sum(r["found"] for r in rows),
            "duration": hours * 3600}
