"""The request fields the checker reads: stage numbers, the episode folder and its default name."""
import pytest

from services.input_checks import ValidationError
from services.podcast.identity import default_episode_name
from services.run_request import episode_directory
from services.stages import parse_stages


def test_parse_stages_accepts_lists_and_text():
    assert parse_stages([2, 1, 1]) == [1, 2]
    assert parse_stages("1, 2") == [1, 2]
    assert parse_stages(["1"]) == [1]
    with pytest.raises(ValidationError):
        parse_stages("1,x")


def test_default_episode_name_is_stable_and_safe():
    name = default_episode_name("https://www.youtube.com/watch?v=abc")
    assert name == default_episode_name("https://www.youtube.com/watch?v=abc")
    assert name != default_episode_name("https://www.youtube.com/watch?v=abd")
    assert "/" not in name and ".." not in name


def test_episode_directory_refuses_a_symlink_escape(tmp_path):
    root = tmp_path / "episodes"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValidationError) as caught:
        episode_directory(root, "link", "http://x/y")
    assert caught.value.code == "path_traversal"
    name, folder = episode_directory(root, "show/episode 1", "http://x/y")
    assert folder == root.resolve() / "show" / "episode 1"
