"""Keywords and key phrases by TF-IDF, each chapter weighed against the others."""
import re

import numpy as np

TOKEN = r"(?u)\b[^\W\d_][\w'’-]*[^\W_]\b"
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
               "the", "to", "with"}


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


def title_case(phrase):
    """'coffee farming in ethiopia' -> 'Coffee Farming in Ethiopia'."""
    words = phrase.split()
    return " ".join(word if (i and word in SMALL_WORDS) else word[:1].upper() + word[1:]
                    for i, word in enumerate(words))


def chapter_titles(documents, max_words=3):
    """A short, unique, capitalised key phrase for each document (chapter).

    The chapter's strongest word by TF-IDF against the other chapters (one no earlier title
    used, while such a word is strong enough), grown into the strongest phrase around it that
    the chapter says at least twice. Titles never repeat: a repeat gets the next strong word.
    """
    terms, matrix = _weights(documents, (1, max_words))
    titles, used_words = [], set()
    for index, document in enumerate(documents):
        text = document.lower()
        ranked = [t for t in sorted(range(len(terms)), key=lambda t: (-matrix[index][t], terms[t]))
                  if matrix[index][t] > 0]
        singles = [t for t in ranked if " " not in terms[t]]
        if not singles:
            titles.append(f"Part {index + 1}")
            continue
        fresh = [t for t in singles if terms[t] not in used_words]
        head_index = fresh[0] if fresh and matrix[index][fresh[0]] >= 0.5 * matrix[index][singles[0]] \
            else singles[0]
        head, head_score = terms[head_index], matrix[index][head_index]
        title = head
        for t in ranked:
            words = terms[t].split()
            if (len(words) > 1 and head in words and matrix[index][t] >= 0.5 * head_score
                    and title_case(terms[t]) not in titles
                    and len(re.findall(rf"\b{re.escape(terms[t])}\b", text)) >= 2):
                title = terms[t]
                break
        if title_case(title) in titles:
            second = next((terms[t] for t in singles if terms[t] != head
                           and title_case(f"{head} and {terms[t]}") not in titles), None)
            title = f"{head} and {second}" if second else title
        candidate, number = title_case(title), 2
        while candidate in titles:
            candidate, number = f"{title_case(title)} ({number})", number + 1
        used_words.update(title.split())
        titles.append(candidate)
    return titles
