"""Chapters by topic segmentation: TextTiling over sentence vectors.

For each gap between two sentences, the cosine between the mean vector of the window before
and the window after says how alike the two sides are; the curve is smoothed, and a gap in a
deep valley (far below the peaks on both sides) is where the topic changes.
"""
import numpy as np

YOUTUBE_MIN_CHAPTER = 10.0


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


def refine(vectors, starts, times, duration, minimum, reach=2):
    """Move each boundary up to `reach` sentences either way to where the two chapters it
    separates are most coherent (each sentence closest to its own chapter's mean).

    The windows that find a valley are short; whole chapters place its edge better, e.g. when
    a sentence at the edge was transcribed badly and resembles neither side.
    """
    starts = list(starts)
    count = len(vectors)
    for _ in range(2):
        moved = False
        for position in range(1, len(starts)):
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


def chapter_starts(vectors, sentences, duration, min_seconds=30.0, max_seconds=900.0,
                   window_seconds=20.0, min_chapters=3):
    """Indices of the sentences that start chapters (always 0), and the depth of each gap.

    When the media is long enough, there are at least `min_chapters` chapters (YouTube shows
    chapters only from three on): the deepest remaining gaps that fit are added.
    """
    count = len(sentences)
    minimum = max(float(min_seconds), YOUTUBE_MIN_CHAPTER)
    if count < 4 or duration < 2 * minimum:
        return [0], [0.0] * count
    lengths = [max(s["end"] - s["start"], 0.5) for s in sentences]
    window = int(min(max(round(window_seconds / float(np.median(lengths))), 2), 10))
    times = [s["start"] for s in sentences]
    depths = depth_scores(smooth(gap_similarities(vectors, window)))
    valleys = depths[1:]
    cutoff = float(valleys.mean() + valleys.std() / 2) if len(valleys) else 0.0
    starts = [0]
    for gap in sorted(range(1, count), key=lambda g: (-depths[g], g)):
        if depths[gap] <= 0 or depths[gap] < cutoff:
            break
        if _fits(starts, gap, times, duration, minimum):
            starts.append(gap)
    for gap in sorted(range(1, count), key=lambda g: (-depths[g], g)):
        if len(starts) >= min_chapters:
            break
        if gap not in starts and _fits(starts, gap, times, duration, minimum):
            starts.append(gap)
    starts.sort()
    starts = refine(vectors, starts, times, duration, minimum)
    # A chapter longer than the maximum is split at its deepest gap that keeps both parts long enough.
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
    return starts, [round(float(d), 4) for d in depths]
