"""The doctor's look at the podcast feed: what Apple Podcasts would refuse in `feed:`."""
from pathlib import Path

from services.doctor.base import OK, WARN, Check
from services.podcast.channel import apple_problems

COVER_PATTERNS = ("*/cover.jpg", "*/*/cover.jpg")


def _has_episode_cover(settings):
    """Whether any episode folder holds stage 6's cover (the channel's art then)."""
    episodes = Path(str(settings.get("data_dir") or ".")) / "episodes"
    return any(next(episodes.glob(pattern), None) for pattern in COVER_PATTERNS)


def check_feed(settings):
    """The feed's channel settings, as Apple Podcasts would judge them."""
    feed = settings.get("feed") or {}
    problems = apple_problems(feed, _has_episode_cover(settings))
    if problems:
        return Check("Podcast feed", WARN, " ".join(problems),
                     "Set the feed: section of config.yaml (docs/features.md \"Podcast feed\"); "
                     "the Feed page lists the same.")
    return Check("Podcast feed", OK, f"{feed.get('title')!s:.80} by {feed.get('author')!s:.80}, "
                 f"category {feed.get('category')}")
