"""Spoken cue phrases: the words with which a speaker opens a new topic ("Now let's turn to
oysters.", "Our third topic is sea kayaking.", "Finally, storm forecasts.", "Moving on…").

`cue_strength` says how surely a sentence opens a topic (0 to 1); `announced_topic` gives the
noun phrase it announces, when it names one, for the chapter's title.
"""
import re

ORDINALS = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|next|last|final|other|new)"
THINGS = r"(?:topic|story|subject|item|thing|theme|question|segment|part|stop|point)"
# Strong: the sentence says outright that a new topic begins.
STRONG = [
    r"^(?:and |so |ok(?:ay)? |alright |well )?(?:now |next |finally |lastly )?(?:let'?s|let us|we(?:'ll| will)|i(?:'d| would) like to|time to) (?:now )?(?:turn|move|go|switch|talk|look|get|head|come)\b",
    rf"^(?:and |so )?(?:our|my|the|a) {ORDINALS} {THINGS}\b",
    r"^(?:and |so )?(?:moving on|turning to|switching (?:gears|topics)|on to|onto|over to|nextup|in other news|changing (?:the )?(?:subject|topic))\b",
    r"^(?:and |so )?(?:now|next|finally|lastly|first|firstly|second|secondly|third|thirdly),? (?:to|for|about|on to|onto)\b",
    r"^(?:and |so )?(?:let'?s|let us) (?:talk|speak|think) about\b",
]
# Weak: a sentence that often, not always, opens a topic.
WEAK = [
    r"^(?:now|next|finally|lastly|first|firstly|meanwhile|anyway|so)\b",
    r"^(?:speaking of|another|what about|how about)\b",
]
_STRONG = [re.compile(pattern) for pattern in STRONG]
_WEAK = [re.compile(pattern) for pattern in WEAK]
LEAD_IN = re.compile(
    r"^(?:and |so |ok(?:ay)? |alright |well )?(?:(?:now|next|finally|lastly|first|firstly|second|secondly|third|thirdly),? )?"
    r"(?:(?:let'?s|let us|we(?:'ll| will)|i(?:'d| would) like to|time to) (?:now )?(?:turn|move|go|switch|talk|look|get|head|come|speak|think)(?: our attention| things)?(?: over)? (?:to|about|at|on to|onto)\s+"
    rf"|(?:our|my|the|a) {ORDINALS} {THINGS}(?: (?:today|this week|tonight))?(?: is| will be|:|,)?(?: (?:all )?(?:about|on))?\s+"
    r"|(?:moving on|turning|switching|on|over|nextup)(?: to| now to)?[,:]?\s+"
    rf"|(?:to|for|about|on to|onto)\s+)?")
STOP_AT = re.compile(r"[,.;:!?…]| (?:and|which|that|because|where|who|is|are|was|were|has|have|"
                     r"can|will|it|they|we|you|i)\b")
DETERMINERS = re.compile(r"^(?:the|a|an|some|our|my|your|their|its|this|these|those)\s+")
MAX_TITLE_WORDS = 5


TRAILING = re.compile(r"(?: (?:today|tonight|this week|now|here|next|for a bit|for a while|"
                      r"for a moment|briefly|again|too|as well))+$")
# "Now, honey bees." or, with the end mark lost, "Now honeybees, a healthy hive…"
NAMED_OPENER = re.compile(r"^(?:and |so )?(?:now|next|finally|lastly),? ([^,.;:!?]{2,40})(?:[,.;:!?]|$)")


def _plain(text):
    text = re.sub(r"[“”\"]", "", str(text).lower())
    text = re.sub(r"\b(?:next up|up next)\b:?", "nextup", text)
    return re.sub(r"\s+", " ", text).strip()


def _named_opener(plain):
    """The short noun phrase right after "now"/"next"/"finally", when that is all the clause
    says ("finally, storm forecasts"), else None."""
    match = NAMED_OPENER.match(plain)
    if not match:
        return None
    phrase = DETERMINERS.sub("", match.group(1).strip())
    if not phrase or len(phrase.split()) > 3 or STOP_AT.search(" " + phrase + " "):
        return None
    return phrase


def cue_strength(text):
    """1.0 when the sentence says a new topic begins, 0.4 for a weaker opener, else 0.0."""
    plain = _plain(text)
    if any(pattern.search(plain) for pattern in _STRONG) or _named_opener(plain):
        return 1.0
    if any(pattern.search(plain) for pattern in _WEAK):
        return 0.4
    return 0.0


def announced_topic(text):
    """The noun phrase a topic-opening sentence announces ("sea kayaking" of "Our third topic
    is sea kayaking."), or None when it names none of 1 to MAX_TITLE_WORDS words."""
    plain = _plain(text)
    named = _named_opener(plain)
    if named:
        named = TRAILING.sub("", named)
        return as_written(named, text) if named else None
    if not any(pattern.search(plain) for pattern in _STRONG):
        return None
    rest = plain[LEAD_IN.match(plain).end():]
    rest = DETERMINERS.sub("", rest.strip())
    phrase = TRAILING.sub("", STOP_AT.split(rest, maxsplit=1)[0].strip(" -'’"))
    words = phrase.split()
    if not words or len(words) > MAX_TITLE_WORDS or not re.search(r"[^\W\d_]", phrase):
        return None
    if words[0] in {"talk", "turn", "move", "go", "look", "something", "another", "that", "it",
                    "this", "what", "how", "why", "where", "when", "who"}:
        return None
    return as_written(phrase, text)


def as_written(phrase, text):
    """`phrase` (found in the lowercased text) with the capitals the text gives it."""
    words = [re.escape(word) for word in phrase.split()]
    match = re.search(r"\b" + r"[\s\"“”]+".join(words) + r"\b", str(text), re.IGNORECASE)
    return " ".join(match.group(0).split()) if match else phrase
