"""Forty-third session review of ``mlx_ifp serve``'s tasks file (``read_tasks``, the API the
CLI uses): a one-word task text read from a folder that is gone, a quoted mask path with
spaces around it, and the way out for a one-word task text that names a mask file elsewhere."""

import os

from mlx_ifp import UsageError
from mlx_ifp.serve import read_tasks

import pytest


def test_one_word_task_when_the_current_folder_is_gone(tmp_path, monkeypatch):
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("sum: summarize\nfix: {task: fix}\n")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    os.rmdir(gone)  # (an app's folder removed under it: the tasks file is given absolute)
    assert read_tasks(tasks) == {"sum": {"task": "summarize"}, "fix": {"task": "fix"}}


def test_quoted_mask_path_with_spaces_is_found_beside_the_yaml(tmp_path, monkeypatch):
    (tmp_path / "m.safetensors").write_bytes(b"")
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text('a: " m.safetensors "\nb: " m "\n')
    monkeypatch.chdir(tmp_path)  # before: "not found (relative to X) but in ... X/m.safetensors"
    mask = str(tmp_path / "m.safetensors")
    assert read_tasks(tasks) == {"a": {"mask": mask}, "b": {"mask": mask}}


def test_quoted_mask_path_missing_names_it_stripped(tmp_path, monkeypatch):
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text('a: " x.safetensors "\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"mask file not found: x.safetensors \(relative to"):
        read_tasks(tasks)


def test_one_word_text_naming_a_mask_elsewhere_says_how_to_keep_it_text(tmp_path, monkeypatch):
    (tmp_path / "notes.safetensors").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    tasks = tmp_path / "sub" / "tasks.yaml"
    tasks.write_text("a: notes\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as e:
        read_tasks(tasks)
    assert "but in the current folder" in str(e.value)
    assert str(e.value).endswith(", or {task: notes} to keep it a task text")
    tasks.write_text("a: {task: notes}\n")  # the way out it names
    assert read_tasks(tasks) == {"a": {"task": "notes"}}
