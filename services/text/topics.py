"""Chapters by topic segmentation: TextTiling over sentence vectors.

For each gap between two sentences, the cosine between the mean vector of the window before
and the window after says how alike the two sides are; the curve is smoothed, and a gap in a
deep valley (far below the peaks on both sides) is where the topic changes.
"""
import numpy as np

YOUTUBE_MIN_CHAPTER = 10.0
CUE_WEIGHT = 0.6      # a sentence that announces a topic (cues.cue_strength 1.0)
PAUSE_WEIGHT = 0.25   # a pause far longer than usual before the sentence
CUTOFF_STDS = 0.75    # a gap starts a chapter above the mean score plus this many deviations
MERGE_RATIO = 0.9     # two chapters this alike (against their own halves) are one


def gap_similarities(vectors, window):
    """Cosine between the `window` sentences before and after each gap (gap i: before i)."""
    count = len(vectors)
    cumulative = np.vstack([np.zeros((1, vectors.shape[1]), dtype=np.float64),
                            np.cumsum(vectors, axis=0, dtype=np.float64)])
    scores = np.zeros(count)
    for gap in range(1, count):
        left = cumulative[gap] - cumulative[max(0, gap - window)]
        right = cumulative[min(count, gap + window)] - cumulative[gap]
        denominator = np.linalg.norm(left) * np.linalg.norm(right)
        scores[gap] = float(left @ right / denominator) if denominator else 0.0
    return scores


def smooth(values, width=3):
    """A centred moving average (edges use what is there)."""
    if width <= 1 or len(values) < 3:
        return np.asarray(values, dtype=float)
    half = width // 2
    padded = np.pad(np.asarray(values, dtype=float), half, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def depth_scores(similarities):
    """For each gap, how far it lies below the highest points reached climbing left and right."""
    count = len(similarities)
    depths = np.zeros(count)
    for gap in range(1, count):
        left = similarities[gap]
        for index in range(gap - 1, 0, -1):
            if similarities[index] < left:
                break
            left = similarities[index]
        right = similarities[gap]
        for index in range(gap + 1, count):
            if similarities[index] < right:
                break
            right = similarities[index]
        depths[gap] = (left - similarities[gap]) + (right - similarities[gap])
    return depths


def _fits(starts, gap, times, duration, minimum):
    """Whether a chapter starting at sentence `gap` leaves every chapter at least `minimum` long."""
    edges = sorted(set(starts) | {gap})
    bounds = [times[index] for index in edges] + [duration]
    return all(b - a >= minimum for a, b in zip(bounds, bounds[1:]))


def _coherence(vectors, first, after):
    """How well the sentences first..after-1 fit their own mean (sum of cosines)."""
    block = vectors[first:after]
    centre = block.sum(axis=0)
    norm = np.linalg.norm(centre)
    return float((block @ centre).sum() / norm) if norm else 0.0


def refine(vectors, starts, times, duration, minimum, reach=2, fixed=()):
    """Move each boundary up to `reach` sentences either way to where the two chapters it
    separates are most coherent (each sentence closest to its own chapter's mean); boundaries
    in `fixed` (on a sentence that announces its topic) stay.

    The windows that find a valley are short; whole chapters place its edge better, e.g. when
    a sentence at the edge was transcribed badly and resembles neither side.
    """
    starts = list(starts)
    count = len(vectors)
    for _ in range(2):
        moved = False
        for position in range(1, len(starts)):
            if starts[position] in fixed:
                continue
            before = starts[position - 1]
            after = starts[position + 1] if position + 1 < len(starts) else count
            best, best_value = starts[position], None
            for gap in range(max(before + 1, starts[position] - reach),
                             min(after - 1, starts[position] + reach) + 1):
                others = starts[:position] + starts[position + 1:]
                if not _fits(others, gap, times, duration, minimum):
                    continue
                value = _coherence(vectors, before, gap) + _coherence(vectors, gap, after)
                if best_value is None or value > best_value + 1e-9:
                    best, best_value = gap, value
            if best != starts[position]:
                starts[position], moved = best, True
        if not moved:
            break
    return starts


def pause_scores(sentences):
    """For each gap, how much longer than usual the pause before the sentence is (0 to 1)."""
    pauses = np.array([float(s.get("pause_before") or 0.0) for s in sentences])
    if len(pauses) < 3:
        return np.zeros(len(pauses))
    usual = float(np.median(pauses[1:]))
    return np.clip((pauses - usual) / (usual + 0.5), 0.0, 1.0)


def _snap(starts, cues, times, duration, minimum, reach_seconds=20.0, reach=4):
    """Move each boundary to the nearest sentence close by that announces a topic."""
    result = sorted(starts)
    for position in range(1, len(result)):
        gap = result[position]
        near = [g for g in range(max(1, gap - reach), min(len(times), gap + reach + 1))
                if cues[g] >= 1.0 and abs(times[g] - times[gap]) <= reach_seconds]
        for candidate in sorted(near, key=lambda g: (abs(g - gap), g)):
            others = result[:position] + result[position + 1:]
            if candidate == gap or (candidate not in others
                                    and _fits(others, candidate, times, duration, minimum)):
                result[position] = candidate
                break
    return sorted(set(result))


def _cosine(left, right):
    denominator = float(np.linalg.norm(left) * np.linalg.norm(right))
    return float(left @ right) / denominator if denominator else 0.0


def _within(block):
    """How alike the two halves of a chapter are (1.0 for a chapter of one sentence)."""
    half = len(block) // 2
    return _cosine(block[:half].sum(axis=0), block[half:].sum(axis=0)) if half else 1.0


def merge_alike(vectors, starts, cues):
    """Drop the boundaries between two chapters that are as alike as each is to itself: the
    two sides' mean vectors are at least MERGE_RATIO as close as the halves of the less
    coherent side (more for a boundary on a sentence that announces a topic). The most
    alike pair goes first, then the rest are measured again."""
    starts = list(starts)
    while len(starts) > 1:
        bounds = starts + [len(vectors)]
        ratios = []
        for position in range(1, len(starts)):
            left = vectors[bounds[position - 1]:bounds[position]]
            right = vectors[bounds[position]:bounds[position + 1]]
            inside = max(min(_within(left), _within(right)), 1e-3)
            needed = MERGE_RATIO * (1.5 if cues[starts[position]] >= 1.0 else 1.0)
            ratios.append((_cosine(left.sum(axis=0), right.sum(axis=0)) / inside / needed,
                           position))
        worst, position = max(ratios)
        if worst < 1.0:
            break
        starts.pop(position)
    return starts


def _limits(sentences, duration, min_seconds, window_seconds):
    """(shortest chapter in seconds, TextTiling window in sentences) for this episode."""
    minimum = max(YOUTUBE_MIN_CHAPTER, min(float(min_seconds), duration / 8))
    lengths = [max(s["end"] - s["start"], 0.5) for s in sentences]
    seconds = min(max(float(window_seconds), duration / 10), 60.0) if False else min(float(window_seconds) * 3, max(duration / 6, 8.0))
    window = int(min(max(round(seconds / float(np.median(lengths))), 2), 10))
    return minimum, window


def chapter_starts(vectors, sentences, duration, min_seconds=30.0, max_seconds=900.0,
                   window_seconds=20.0, cues=None):
    """Indices of the sentences that start chapters (always 0), and the score of each gap
    (stage 3 keeps a chapter's as its `depth`).

    A gap's score is its TextTiling depth, raised where the sentence after it opens a topic
    by a spoken cue (`cues`, 0 to 1 a sentence) and where a longer pause comes before it.
    The best-scored gaps that leave every chapter long enough start chapters; each then moves
    to a sentence close by that announces the topic, and a strong cue with a lexical change
    around it starts a chapter of its own. How many chapters there are follows the content.
    """
    count = len(sentences)
    minimum, window = _limits(sentences, duration, min_seconds, window_seconds)
    if count < 4 or duration < 2 * minimum:
        return [0], [0.0] * count
    cues = np.asarray(cues if cues is not None else np.zeros(count), dtype=float)
    times = [s["start"] for s in sentences]
    depths = depth_scores(smooth(gap_similarities(vectors, window)))
    top = float(depths.max()) or 1.0
    scores = depths / top + CUE_WEIGHT * cues + PAUSE_WEIGHT * pause_scores(sentences)
    scores[0] = 0.0
    valleys = scores[1:]
    cutoff = float(valleys.mean() + valleys.std() * CUTOFF_STDS)
    starts = [0]
    for gap in sorted(range(1, count), key=lambda g: (-scores[g], g)):
        if scores[gap] < cutoff:
            break
        if _fits(starts, gap, times, duration, minimum):
            starts.append(gap)
    starts = _snap(starts, cues, times, duration, minimum)
    lexical = float(np.percentile(depths[1:], 50))
    for gap in range(1, count):
        around = depths[max(1, gap - 2):gap + 3]
        if (cues[gap] >= 1.0 and gap not in starts and float(around.max()) > lexical
                and _fits(starts, gap, times, duration, minimum)):
            starts = sorted(starts + [gap])
    starts = merge_alike(vectors, sorted(starts), cues)
    fixed = {gap for gap in starts if cues[gap] >= 1.0}
    starts = refine(vectors, sorted(starts), times, duration, minimum, fixed=fixed)
    starts = _split_long(starts, depths, times, duration, minimum, max_seconds, count)
    return starts, [round(float(d), 4) for d in scores]


def _split_long(starts, depths, times, duration, minimum, max_seconds, count):
    """A chapter longer than the maximum is split at its deepest gap that keeps both parts
    long enough."""
    changed = True
    while changed:
        changed = False
        bounds = starts + [count]
        for first, after in zip(bounds, bounds[1:]):
            end = times[after] if after < count else duration
            if end - times[first] <= max_seconds:
                continue
            inside = [g for g in range(first + 1, after) if _fits(starts, g, times, duration, minimum)]
            if inside:
                starts = sorted(starts + [max(inside, key=lambda g: (depths[g], -g))])
                changed = True
                break
    return starts
