"""Review (s42, helper E) of the forty-second session's changes; each test failed before its fix.

- `check_writable(LINK)`, LINK a symbolic link that loops (`ln -s x x`): a `RuntimeError`
  traceback from `Path.resolve` (before the change, the link was replaced by the file).
- `tools/eval_ifp.py`, `eval_task_masks.py`, `side_by_side.py` with several corpora in the
  cache: refused in one line, exit 2 (untested: the three copies of the `__main__` block are one
  helper now, `eval_ifp.exit_2_on_usage_error`).
"""

import os
import subprocess
import sys
from pathlib import Path

from mlx_ifp.common import UsageError, atomic_file, check_writable, not_an_input

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_a_looping_link_as_output_is_no_traceback(tmp_path):
    link = tmp_path / "loop.json"
    link.symlink_to(link.name)
    assert check_writable(link) == link  # was RuntimeError: Symlink loop
    with atomic_file(link) as tmp:
        tmp.write_text("{}")
    assert link.read_text() == "{}"


def test_a_looping_link_is_checked_against_the_inputs_without_a_traceback(tmp_path):
    """`eval -o LOOP`, `export -o LOOP`: not_an_input's Path.resolve raised RuntimeError."""
    link = tmp_path / "loop.gguf"
    link.symlink_to(link.name)
    given = tmp_path / "model"
    given.mkdir()
    not_an_input(str(link), str(given))  # not an input: passes (was RuntimeError)
    (given / "weights.safetensors").write_text("")
    with pytest.raises(UsageError, match="would overwrite the input"):  # the check still works
        not_an_input(str(given / "weights.safetensors"), str(given))


@pytest.mark.parametrize(
    "tool, args",
    [
        ("eval_ifp.py", ["--runs", "r"]),
        ("eval_task_masks.py", ["--run", "r"]),
        ("side_by_side.py", ["-o", "x.md"]),
    ],
)
def test_the_tools_refuse_several_cached_corpora_in_one_line(tmp_path, tool, args):
    for name in ("v1-seed0-aaaa", "v1-seed0-bbbb"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "manifest.json").write_text("{}")
    env = {**os.environ, "MLX_IFP_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "tools" / tool), *args]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: 2 corpora in the cache (v1-seed0-aaaa, v1-seed0-bbbb): pass --data FOLDER"
    ]
