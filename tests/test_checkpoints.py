"""Checkpoints (services/engine/checkpoints.py): reuse only with the same parameters and files."""
from services.engine.checkpoints import Checkpoints, list_files, remove_new_files


def test_checkpoints_reuse_only_with_same_parameters_and_files(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    checkpoints = Checkpoints(tmp_path)
    checkpoints.record("stage", {"p": 1}, ["a.txt"])
    assert checkpoints.reusable("stage", {"p": 1}) == ["a.txt"]
    assert checkpoints.reusable("stage", {"p": 2}) is None
    (tmp_path / "a.txt").unlink()
    assert checkpoints.reusable("stage", {"p": 1}) is None
    checkpoints.forget("stage")
    assert checkpoints.reusable("stage", {"p": 1}) is None


def test_remove_new_files_keeps_what_was_there(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    before = list_files(tmp_path)
    (tmp_path / "new.txt").write_text("y")
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "01.m4a").write_text("z")
    remove_new_files(tmp_path, before)
    assert list_files(tmp_path) == {"old.txt"}
    assert not (tmp_path / "clips").exists()
