"""Sentence vectors without torch: wordllama (weights shipped in its wheel) or TF-IDF.

wordllama's loader looks for its tokenizer file in the wrong folder, so it is loaded with
`cache_dir` set to the package's own folder and downloads disabled: nothing is fetched.
"""
import threading

import numpy as np

METHODS = ("wordllama", "tfidf")
_lock = threading.Lock()
_models = {}


class VectorsUnavailable(Exception):
    """The configured vector method cannot be used here; the message says why."""


def _wordllama():
    with _lock:
        if "wordllama" not in _models:
            try:
                import wordllama
                from wordllama import WordLlama
            except ImportError as exc:
                raise VectorsUnavailable("wordllama is not installed") from exc
            from pathlib import Path

            _models["wordllama"] = WordLlama.load(cache_dir=Path(wordllama.__file__).parent,
                                                  disable_download=True)
        return _models["wordllama"]


def _normalise(matrix):
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def embed(texts, method="wordllama"):
    """Unit-length vectors, one row per text."""
    texts = [text if text.strip() else "." for text in texts]
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    if method == "wordllama":
        return _normalise(_wordllama().embed(texts, norm=False))
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
        try:
            matrix = vectorizer.fit_transform(texts).toarray()
        except ValueError:  # only stop words: nothing to compare
            matrix = np.zeros((len(texts), 1))
        return _normalise(matrix)
    raise VectorsUnavailable(f"unknown vector method {method!r}; use one of {', '.join(METHODS)}")
