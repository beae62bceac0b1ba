"""Chapter titles a person would write: a short noun phrase that names the chapter's topic.

A chapter whose opening sentence announces its topic ("Our third topic is sea kayaking.") is
titled with what it announces ("Sea kayaking"). Otherwise the title is the chapter's key
phrase (see key_phrase): the term said across the chapter that the other chapters do not
say, among words used as nouns (never a common verb, adjective or adverb), grown into the
longer phrase it belongs to ("storm forecasts", "hot air balloons").
Titles are 1 to 5 words in sentence case, and unique within an episode.
"""
import re

import numpy as np

from services.text import vectors as text_vectors
from services.text.cues import announced_topic
from services.text.keywords import TOKEN

WORD = re.compile(r"[a-z][a-z'’-]*")

NOUN_BEFORE = {"the", "a", "an", "of", "for", "about", "with", "their", "our", "your", "his",
               "her", "its", "these", "those", "this", "that", "some", "many", "most", "few",
               "every", "each", "any", "no", "more", "less", "in", "on", "from", "by", "to",
               "my", "good", "great", "new", "old", "big", "small", "fresh", "wild", "local"}
NOT_NOUNS = set("""
able about above according actually add added adding after again against ago ahead allow
almost alone along already also although always among another answer anyone anything anyway
around ask asked asking away bad based became become becomes begin begins best better big
bring brings build built call called calls came can care carry carries case catch caught
cause change changes check choose close closed collect collected collects come comes coming
common consider could cut day days different does doing done during each early easy either
else end enough even ever every exactly fall far feel feels felt few find finds fine first
follow found free full get gets getting give given gives go goes going gone good got great
grow grows grown half happen happens hard help helps high hold holds hope huge idea important
including instead interesting just keep keeps kind know known large last later least leave
left less let lets like likely little live lives long look looks lot lots love low made make
makes making many may maybe mean means might more most move moves much must near nearly need
needs never new next nice nothing now often old once one only open other others own part
people perhaps place plan play point pretty probably pull push put quite rather read real
really right run runs said same saw say says see seem seems seen set several short show
shows side simple since small so some something sometimes soon start starts still stop
sure take takes taking talk tell tells thing things think thought three today together
told too took toward true try trying turn turns two under until upon use used uses using
usually very want wants watch way ways week well went whole why wide will within without
work works would year years yes yet young climb climbs watch watched fold folds play plays
sit sits stand stands wait waits walk walks listen listens learn learns notice noticed
""".split())
MAX_TITLE_WORDS = 5
CANDIDATES = 40          # the chapter's strongest terms by TF-IDF that are weighed as titles
OPENING_SENTENCES = 2
OPENING_BOOST = 1.3
BARE_BASE = 0.2
ARTICLES = {"the", "a", "an", "this", "that", "these", "those"}


def sentence_case(phrase):
    """'sea kayaking' -> 'Sea kayaking' (the rest as spoken: names keep their capitals)."""
    phrase = " ".join(phrase.split())
    return phrase[:1].upper() + phrase[1:]


def words_of(text):
    """The lowercase words of a text."""
    return WORD.findall(text.lower())


def _noun_shares(words):
    """For each of the words, the share of its uses that look like a noun's."""
    seen, as_noun = {}, {}
    for before, word in zip(["."] + words, words):
        seen[word] = seen.get(word, 0) + 1
        if before in NOUN_BEFORE:
            as_noun[word] = as_noun.get(word, 0) + 1
    return {word: as_noun.get(word, 0) / count for word, count in seen.items()}


def _nounish(term, shares):
    words = term.split()
    head = words[-1]
    if any(word in NOT_NOUNS for word in words) or head.endswith("ly"):
        return 0.0
    # Agent nouns ("beekeepers", "chefs", "volcanologists") name the people of a topic more
    # often than the topic.
    agent = 0.6 if re.search(r"(?:ers|ists|ians|chefs)$", head) else 1.0
    return (0.85 + 0.15 * shares.get(head, 0.0)) * agent


def _weights(documents):
    """(terms, TF-IDF matrix, idf of each term) over the chapters' texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 3), token_pattern=TOKEN,
                                 lowercase=True)
    try:
        matrix = vectorizer.fit_transform(documents).toarray()
    except ValueError:   # nothing but stop words
        return [], np.zeros((len(documents), 0)), np.zeros(0)
    return list(vectorizer.get_feature_names_out()), matrix, vectorizer.idf_


def stem(word):
    """A word's light stem: lowercase, no possessive, no plural ending (bees -> bee,
    boxes -> box, tomatoes -> tomato; glass stays)."""
    word = word.lower().replace("’", "'")
    word = word[:-2] if word.endswith("'s") else word
    for ending, keep in (("ies", "y"), ("oes", "o"), ("xes", "x"), ("ches", "ch"),
                         ("shes", "sh"), ("sses", "ss")):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + keep
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def _same_word(found, wanted):
    """Whether the stem `found` is the stem `wanted`, also run together with a word before it
    ("honeybee" is "bee")."""
    return found == wanted or (len(wanted) >= 3 and found.endswith(wanted))


def _says(term, stems):
    """Whether a sentence (its words' stems) says the term, in any number, also run together
    into one word ("honeybees" says "bees")."""
    wanted = [stem(word) for word in term.split()]
    if len(wanted) == 1:
        return any(_same_word(found, wanted[0]) for found in stems)
    joined = " ".join(stems)
    return " ".join(wanted) in joined or "".join(wanted) in stems


def _spread(term, stemmed):
    """In how many sentences (each a list of its words' stems) the term is said."""
    return sum(1 for stems in stemmed if _says(term, stems))


def _bare_share(term, words, stems):
    """The share of the term's uses with no "the", "a" or "this" before it (`stems` are the
    stems of `words`). A topic is spoken of in general ("honey bees dance", "think of
    lighthouses"); its parts mostly with an article ("the hives", "the frames")."""
    wanted, uses, bare = stem(term), 0, 0
    for position, found in enumerate(stems):
        if _same_word(found, wanted):
            uses += 1
            bare += position == 0 or words[position - 1] not in ARTICLES
    return bare / uses if uses else 0.0


def _closeness(names, text):
    """How close each word is in meaning to the chapter as a whole (wordllama; 1.0 each
    where its vectors are not available)."""
    try:
        centre = text_vectors.embed([text], "wordllama")[0]
        return np.clip(text_vectors.embed(names, "wordllama") @ centre, 0.0, 1.0)
    except text_vectors.VectorsUnavailable:
        return np.ones(len(names))


def _extended(term, spread, phrases, shares):
    """The longer phrase the term belongs to ("balloons" -> "hot air balloons"), made of
    noun-like words and said at least half as often as the term, or the term."""
    for longer in sorted(phrases, key=lambda t: (-len(t.split()), t)):
        words = longer.split()
        if (len(words) > 1 and f" {term} " in f" {longer} "
                and phrases[longer] >= max(0.5 * spread, 2)
                and all(_nounish(word, shares) > 0 and not word.endswith("ed") for word in words)):
            return longer
    return term


def key_phrase(texts, weights, terms, idf, used, candidates=CANDIDATES):
    """The chapter's best noun phrase, or None. `texts` are its sentences, `weights` its
    TF-IDF row. A word scores by the sentences that say it (in any number) times its rarity
    in the other chapters, weighed by how noun-like it is, how often it is said without an
    article, how close it is in meaning to the chapter, and whether the chapter opens with
    it; the best grows into the longer phrase it belongs to."""
    text = " ".join(texts)
    stemmed = [[stem(word) for word in words_of(line)] for line in texts]
    words = words_of(text)
    stems = [found for line in stemmed for found in line]
    shares = _noun_shares(words)
    best = [p for p in np.argsort(-weights, kind="stable")[:candidates] if weights[p] > 0]
    singles = [p for p in best if " " not in terms[p] and _nounish(terms[p], shares) > 0]
    if not singles:
        return None
    closeness = _closeness([terms[p] for p in singles], text)
    scored, spreads = {}, {}
    for position, close in zip(singles, closeness):
        term = terms[position]
        spreads[term] = spread = _spread(term, stemmed)
        value = (spread * idf[position] * _nounish(term, shares) * close ** 2
                 * (BARE_BASE + _bare_share(term, words, stems)))
        if spread and _spread(term, stemmed[:OPENING_SENTENCES]):
            value *= OPENING_BOOST
        scored[term] = value * (0.3 if term in used else 1.0)
    term = max(scored, key=lambda t: (scored[t], t))
    if scored[term] <= 0:
        return None
    phrases = {terms[p]: _spread(terms[p], stemmed) for p in best if " " in terms[p]}
    return _extended(term, spreads[term], phrases, shares)


def announced(sentences, chapter):
    """What the chapter's first or second sentence announces as its topic, or None."""
    first, last = chapter["first_sentence"], chapter["last_sentence"]
    for sentence in sentences[first:min(first + 2, last + 1)]:
        phrase = announced_topic(sentence["text"])
        if phrase:
            return phrase
    return None


def chapter_titles(chapters, sentences):
    """A title for each chapter ([{first_sentence, last_sentence}]), unique in the episode."""
    texts = [[s["text"] for s in sentences[c["first_sentence"]:c["last_sentence"] + 1]]
             for c in chapters]
    terms, matrix, idf = _weights([" ".join(part) for part in texts])
    titles, used = [], set()
    for index, chapter in enumerate(chapters):
        phrase = announced(sentences, chapter)
        if phrase is None and terms:
            phrase = key_phrase(texts[index], matrix[index], terms, idf, used)
        title = sentence_case(" ".join(phrase.split()[:MAX_TITLE_WORDS])) if phrase else None
        title = title or f"Part {index + 1}"
        candidate, number = title, 2
        while candidate.lower() in {t.lower() for t in titles}:
            candidate, number = f"{title} ({number})", number + 1
        used.update(title.lower().split())
        used.add(title.lower())
        titles.append(candidate)
    return titles
