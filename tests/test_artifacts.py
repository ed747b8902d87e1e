"""The content hash that names every cached stage output."""
import shutil

from casestudy.artifacts import fingerprint


def test_fingerprint_hashes_names_and_contents_not_where_the_files_lie(tmp_path):
    # "a/" sorts before "z/" by path, so a path-ordered hash would differ between the two layouts.
    for folder, name in (("a", "one.jsonl"), ("z", "two.jsonl")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(name)
    here = [tmp_path / "a" / "one.jsonl", tmp_path / "z" / "two.jsonl"]
    moved = shutil.copy(here[0], tmp_path / "z" / "one.jsonl"), shutil.copy(here[1], tmp_path / "a" / "two.jsonl")
    assert fingerprint({"k": 1}, here) == fingerprint({"k": 1}, moved) == fingerprint({"k": 1}, here[::-1])
    assert fingerprint({"k": 2}, here) != fingerprint({"k": 1}, here)
    here[1].write_text("changed")
    assert fingerprint({"k": 1}, here) != fingerprint({"k": 1}, moved)
