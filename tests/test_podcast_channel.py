"""The podcast's identity and channel, without a server: episode and feed guids, the
publication record a re-run keeps, Apple's categories, what the doctor warns about, and the
feed token's file."""
import json
import stat
import uuid
from datetime import datetime, timezone

import pytest

from services.config.loading import ConfigError, load_settings
from services.doctor.base import OK, WARN
from services.doctor.feed import check_feed
from services.podcast import identity
from services.podcast.channel import APPLE_CATEGORIES, apple_problems, parse_category
from services.podcast.feed_token import TokenConfigured, feed_token, rotate

URL = "https://www.youtube.com/watch?v=abc"


def test_podcast_guid_follows_the_podcasting_2_0_rule():
    # The namespace's own example: the feed URL without its scheme and trailing slash.
    assert identity.podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml/") == \
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert identity.podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml") == \
        identity.podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml")


def test_an_episode_guid_is_what_it_is_made_from():
    default = identity.default_episode_name(URL)
    guid = identity.episode_guid(URL, default)
    assert uuid.UUID(guid).version == 5
    assert guid == identity.episode_guid(URL, default) == str(
        uuid.uuid5(identity.EPISODE_NAMESPACE, URL))
    assert identity.episode_guid(URL, "my-cut") != guid          # a second folder, a second item
    assert identity.episode_guid(URL + "x", default) != guid


def test_the_publication_record_is_written_once_and_moved_only_on_purpose(tmp_path):
    first = identity.record_publication(tmp_path, URL)
    assert first["guid"] == identity.episode_guid(URL, tmp_path.name)
    assert identity.record_publication(tmp_path, "https://other.example/x") == first
    moved = identity.republish(tmp_path)
    assert moved["guid"] == first["guid"] and moved["published_at"] >= first["published_at"]
    assert identity.republish(tmp_path / "nothing") is None
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / identity.PUBLICATION_FILE).write_bytes((tmp_path / identity.PUBLICATION_FILE).read_bytes())
    assert identity.read_publication(copy) == {}       # another folder's identity
    assert identity.record_publication(copy, URL)["guid"] != first["guid"]
    for broken in ("not json", "[]", '{"guid": 5}', '{"guid": "g", "published_at": "soon"}'):
        (tmp_path / identity.PUBLICATION_FILE).write_text(broken)
        assert identity.read_publication(tmp_path) == {}


def test_the_pub_date_is_the_upload_date_only_when_asked_and_known():
    record = {"guid": "g", "published_at": "2025-03-04T05:06:07+00:00"}
    fallback = datetime(2020, 1, 1, tzinfo=timezone.utc)
    published = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert identity.publication_date(record, {"upload_date": "20240506"}, fallback) == published
    assert identity.publication_date(record, {"upload_date": "20240506"}, fallback,
                                     "uploaded").date().isoformat() == "2024-05-06"
    for bad in ("2024-05-06", "20241306", "", None, "２０２４０５０６"):
        assert identity.publication_date(record, {"upload_date": bad}, fallback,
                                         "uploaded") == published
    assert identity.publication_date({}, {}, fallback) == fallback


@pytest.mark.parametrize("text, expected", [
    ("Technology", ("Technology", None)),
    ("  society &  culture > documentary ", ("Society & Culture", "Documentary")),
    ("News/Tech News", ("News", "Tech News")),
    ("TV & Film :: Film Reviews", ("TV & Film", "Film Reviews")),
])
def test_apple_categories_are_read_leniently(text, expected):
    assert parse_category(text) == expected


@pytest.mark.parametrize("text", ["Tech", "News > Weather", "Technology > Gadgets", "", "<b>"])
def test_categories_apple_does_not_have_are_refused(text):
    with pytest.raises(ValueError):
        parse_category(text)


def test_every_category_and_subcategory_parses():
    for category, subcategories in APPLE_CATEGORIES.items():
        assert parse_category(category) == (category, None)
        for sub in subcategories:
            assert parse_category(f"{category} > {sub}") == (category, sub)


@pytest.mark.parametrize("feed, field", [
    ({"category": "Gadgets"}, "feed.category"),
    ({"owner_email": "not an address"}, "feed.owner_email"),
    ({"language": "english!"}, "feed.language"),
    ({"image": "javascript:alert(1)"}, "feed.image"),
    ({"public_url": "ftp://pods.example.com"}, "feed.public_url"),
    ({"pub_date": "tomorrow"}, "feed.pub_date"),
    ({"token": True}, "feed.token"),
])
def test_bad_feed_settings_are_refused_by_name(feed, field):
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={}, overrides={"feed": feed})
    assert field in str(caught.value)


def test_apple_problems_and_the_doctor_name_what_is_missing(tmp_path):
    settings = load_settings(None, environ={}, overrides={"data_dir": str(tmp_path)})
    problems = " ".join(apple_problems(settings["feed"], has_cover=False))
    assert "artwork" in problems and "owner_email" in problems and "public_url" in problems
    check = check_feed(settings)
    assert check.status == WARN and "artwork" in check.detail
    cover = tmp_path / "episodes" / "show" / "cover.jpg"
    cover.parent.mkdir(parents=True)
    cover.write_bytes(b"\xff\xd8\xff")
    settings["feed"].update(owner_email="shows@example.com", public_url="https://pods.example.com")
    assert check_feed(settings).status == OK
    settings["feed"]["title"] = " "
    assert "feed.title is empty" in check_feed(settings).detail


def test_the_feed_token_is_kept_private_and_rotates(tmp_path):
    settings = {"data_dir": str(tmp_path), "feed": {"token": None}}
    token = feed_token(settings)
    assert len(token) >= 32 and feed_token(settings) == token
    path = tmp_path / "feed_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = rotate(settings)
    assert fresh != token and feed_token(settings) == fresh
    path.write_text("")                    # an emptied file gets a new token
    assert feed_token(settings) not in ("", fresh)
    settings["feed"]["token"] = 12345      # YAML's unquoted digits
    assert feed_token(settings) == "12345"
    with pytest.raises(TokenConfigured):
        rotate(settings)
    assert json.dumps(token)               # plain text, URL-safe
    assert all(c.isalnum() or c in "-_" for c in token)
