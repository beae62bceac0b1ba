"""Keywords and key phrases by TF-IDF, each chapter weighed against the others (the chapter
titles are services/text/titles.py)."""
import re

import numpy as np

TOKEN = r"(?u)\b[^\W\d_][\w'’-]*[^\W_]\b"


def _vectorizer(ngrams):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(stop_words="english", ngram_range=ngrams, sublinear_tf=True,
                           token_pattern=TOKEN, lowercase=True)


def _weights(documents, ngrams):
    vectorizer = _vectorizer(ngrams)
    try:
        matrix = vectorizer.fit_transform(documents).toarray()
    except ValueError:  # nothing but stop words
        return [], np.zeros((len(documents), 0))
    return list(vectorizer.get_feature_names_out()), matrix


def chapter_keywords(documents, top=6):
    """(keywords of each document, keywords of all of them) as [{"term", "score"}] lists.

    A phrase of two words that occurs at least twice replaces its single words.
    """
    terms, matrix = _weights(documents, (1, 2))
    if not terms:
        return [[] for _ in documents], []
    lowered = [doc.lower() for doc in documents]

    def occurrences(term, indices):
        return sum(len(re.findall(rf"\b{re.escape(term)}\b", lowered[i])) for i in indices)

    def pick(scores, count_of):
        chosen = []
        for index in np.argsort(-scores, kind="stable"):
            term, score = terms[index], float(scores[index])
            if score <= 0 or len(chosen) >= top:
                break
            if " " in term and count_of(term) < 2:
                continue
            if any(term in other["term"].split() or other["term"] in term.split()
                   for other in chosen):
                continue
            chosen.append({"term": term, "score": round(score, 4)})
        return chosen

    per_document = [pick(matrix[i], lambda t, i=i: occurrences(t, [i])) for i in range(len(documents))]
    totals = matrix.sum(axis=0)
    episode = pick(totals, lambda t: occurrences(t, range(len(documents))))
    return per_document, episode
