"""The topic corpus: everyday topics, and sentences about them that read like a spoken podcast.

A topic (topics_outdoors.py, topics_home.py) has its title name ("Sea kayaking"), the form a
speaker says ("sea kayaking"), the lowercase stems a title must contain to name it
(["kayak"]) and a small vocabulary. Sentences are templates filled from that vocabulary with a
seeded random generator: plain statements, questions, sentences that name the topic and many
that do not, some joined by commas, and a few whole facts.
"""
from dataclasses import dataclass

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth")

PLAIN = (
    "{Pc} {d} {l}.", "Most {P} {d}.", "Every morning, {P} {d}.", "Why do {P} {d}?",
    "Have you ever watched {P} {d}?", "The {t} {l} are {j}, and the {t2} are even more so.",
    "It all comes down to the {t}, the {t2} and a bit of patience.",
    "Think about the {t} for a moment.", "Nobody really agrees about the {t}, do they?",
    "There is a lot to say about {t} and {t2}.", "A good rule is to look at the {t} first.",
    "Some {P} say the {t} are the hardest part.", "What do the {t} tell us?",
    "I once met some {P} who {d} every single day.", "The trick, according to {P}, is the {t}.",
    "On a {j} day {l}, you notice the {t} first.", "The {t} can be {j}, and that changes everything.",
    "That is the part where the {t} really matter.", "Honestly, the {t} surprised me the most.",
    "So what makes the {t} so {j}?", "You can learn a lot just by watching the {t}.",
    "{Pc} tend to {d}, and they are usually right.", "Not many people know how {j} the {t} can get.",
    "We asked a few {P} about the {t}.", "Is it really worth it to {d}?",
    "If you ask me, the {t} {l} are the best part.", "My favourite thing is the {t}, I think.",
    "A lot of {P} {d} without thinking about it.", "It sounds simple, but the {t} are tricky.",
)
MENTION = (
    "{Sc} {a}.", "{Sc} {be} {j} in a way that is easy to miss.",
    "When people think of {S}, they rarely think of the {t}.",
    "What is it about {S} that keeps {P} so busy?", "{Sc} {a}, which is why {P} {d}.",
    "The story of {S} is really a story about {t}.",
    "If you want to understand {S}, start with the {t}.",
    "People have been curious about {S} for a very long time.", "{Sc} {a}, and the {t} show it.",
    "Did you know that {S} {a}?", "Here is the thing about {S}: the {t} matter.",
)
JOINS = (", and ", ", so ", ", ", ", but ")
INTRO = ("Hello and welcome back to the show.", "Hi everyone, and thanks for listening.",
         "Welcome to another episode.")
FIRST = ("Today we begin with {S}.", "Let's start with {S}.", "Our first topic is {S}.",
         "First up, {S}.")
MIDDLE = ("Now let us turn to {S}.", "Our {ord} topic is {S}.", "Moving on to {S}.",
          "Next up: {S}.", "Let's talk about {S} for a while.",
          "And now for something completely different: {S}.",
          "Time to change the subject and talk about {S}.", "Right, {S}.")
LAST = ("Finally, {S}.", "Our last topic today is {S}.", "To finish, let's talk about {S}.")
FOLLOW = ("It is a subject I have wanted to cover for a long time.",
          "Stay with me, this one is more interesting than it sounds.",
          "There is more to it than you might expect.", "A listener asked about this one.")
FACT_SHARE, MENTION_SHARE, JOIN_SHARE = 0.1, 0.25, 0.12


@dataclass(frozen=True)
class Topic:
    name: str
    spoken: str
    heads: tuple
    be: str
    people: tuple
    does: tuple
    acts: tuple
    things: tuple
    adjs: tuple
    places: tuple
    facts: tuple


def topic(name, spoken, heads, be, **fields):
    """A Topic from "|"-separated fields."""
    def split(text):
        return tuple(item.strip() for item in text.split("|") if item.strip())
    return Topic(name, spoken, split(heads), be, **{key: split(value) for key, value in fields.items()})


def all_topics():
    """Every topic of the corpus, in a fixed order."""
    from eval_set import topics_home, topics_outdoors

    return list(topics_outdoors.TOPICS) + list(topics_home.TOPICS)


def by_name(name):
    return next(t for t in all_topics() if t.name == name)


def capital(text):
    return text[:1].upper() + text[1:]


def lower_first(text):
    """The sentence with its first letter lowercased, unless its first word is a name or "I"."""
    first = text.split()[0]
    if first == "I" or first[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def fill(template, subject, rng):
    """The template with slots filled from the topic's vocabulary."""
    things, adjs = rng.sample(subject.things, 2), rng.sample(subject.adjs, 2)
    people = rng.choice(subject.people)
    return template.format(S=subject.spoken, Sc=capital(subject.spoken), be=subject.be,
                           P=people, Pc=capital(people), d=rng.choice(subject.does),
                           a=rng.choice(subject.acts), t=things[0], t2=things[1], j=adjs[0],
                           j2=adjs[1], l=rng.choice(subject.places))


def one_sentence(subject, rng):
    """(sentence, its parts): a fact, a sentence naming the topic, a plain one, or two plain
    ones joined by a comma."""
    draw = rng.random()
    if draw < FACT_SHARE:
        text = rng.choice(subject.facts)
        return text, [text]
    if draw < FACT_SHARE + MENTION_SHARE:
        text = fill(rng.choice(MENTION), subject, rng)
        return text, [text]
    text = fill(rng.choice(PLAIN), subject, rng)
    if rng.random() < JOIN_SHARE and text.endswith("."):
        second = fill(rng.choice(PLAIN), subject, rng)
        return text[:-1] + rng.choice(JOINS) + lower_first(second), [text, second]
    return text, [text]


def sentence(subject, rng, used, tries=40):
    """A sentence none of whose parts was used before in this episode (after `tries` draws,
    any sentence)."""
    for _ in range(tries):
        text, parts = one_sentence(subject, rng)
        if not any(part in used for part in parts):
            break
    used.update(parts)
    return text


def topic_sentences(subject, rng, seconds, words_per_second, pause, used):
    """Sentences about `subject` filling about `seconds` of speech at `words_per_second`, with
    `pause` seconds between sentences."""
    found, spoken = [], 0.0
    while spoken < seconds or len(found) < 2:
        text = sentence(subject, rng, used)
        found.append(text)
        spoken += len(text.split()) / words_per_second + pause
    return found


def announcement(subject, index, count, rng, intro=False):
    """The sentence or two that announce topic `index` of `count` ("Our third topic is …")."""
    if index == 0:
        forms = FIRST
    elif index == count - 1:
        forms = LAST + MIDDLE[:3]
    else:
        forms = MIDDLE
    lines = [rng.choice(INTRO)] if intro else []
    lines.append(rng.choice(forms).format(S=subject.spoken, ord=ORDINALS[min(index, 9)]))
    if rng.random() < 0.4:
        lines.append(rng.choice(FOLLOW))
    return lines
