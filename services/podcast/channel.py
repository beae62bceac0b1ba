"""The feed's channel: Apple Podcasts' categories and what Apple would refuse in `feed:`.

Apple lists a show under one of its own categories (with an optional subcategory), written
`Technology` or `Society & Culture > Documentary` in the settings. Anything else is refused
when the configuration is read, since Apple would refuse the feed."""
import re

APPLE_CATEGORIES = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing",
                 "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health",
                         "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
                "Home & Garden", "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary", "Politics",
             "Sports News", "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism",
                                "Religion", "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
                "Natural Sciences", "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel",
                          "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf",
               "Hockey", "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball",
               "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews",
                  "TV Reviews"),
}
_SEPARATOR = re.compile(r"\s*(?:>|/|::)\s*")
EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[^@\s<>\"']{1,190}\.[A-Za-z]{2,63}")


def _named(name, choices):
    """The choice `name` stands for, ignoring case and spacing, or None."""
    wanted = " ".join(name.split()).casefold()
    return next((choice for choice in choices if choice.casefold() == wanted), None)


def parse_category(text):
    """(category, subcategory or None) of a `feed.category` text; ValueError with the valid
    names when Apple has no such category."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("is empty")
    parts = _SEPARATOR.split(text.strip(), maxsplit=1)
    category = _named(parts[0], APPLE_CATEGORIES)
    if category is None:
        raise ValueError(f"{text[:60]!r} is not an Apple Podcasts category; use one of "
                         f"{', '.join(APPLE_CATEGORIES)}")
    if len(parts) == 1 or not parts[1]:
        return category, None
    subcategory = _named(parts[1], APPLE_CATEGORIES[category])
    if subcategory is None:
        known = ", ".join(APPLE_CATEGORIES[category]) or "none"
        raise ValueError(f"{parts[1][:60]!r} is not a subcategory of {category} "
                         f"(Apple's are: {known})")
    return category, subcategory


def apple_problems(feed, has_cover):
    """What Apple Podcasts would refuse or flag in the `feed` settings, as sentences.

    `has_cover` says whether the episodes bring their own square art, which the channel
    takes when `feed.image` is not set."""
    problems = []
    if not (feed.get("image") or has_cover):
        problems.append("The channel has no artwork: set feed.image or make an episode "
                        "(stage 6 makes its cover); Apple refuses a feed without one.")
    if not EMAIL.fullmatch(str(feed.get("owner_email") or "")):
        problems.append("feed.owner_email is not set: Apple sends the show's verification "
                        "e-mail there, and podcast:locked names it.")
    if not feed.get("category"):
        problems.append("feed.category is empty: Apple lists a show under one category.")
    for key in ("title", "description", "author"):
        if not str(feed.get(key) or "").strip():
            problems.append(f"feed.{key} is empty.")
    if not feed.get("public_url"):
        problems.append("feed.public_url is not set: feed URLs name the address the feed was "
                        "read at, so an app that subscribed on this machine cannot reach them.")
    return problems
