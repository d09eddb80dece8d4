"""`mlx_ifp export -o` a folder path whose last part is '.' or '..' (found in review).

check_writable accepted it (an existing folder), then atomic_dir crashed on it: `Path('.')`
has an empty name (`with_name` -> ValueError) and renaming 'x/..' fails (EBUSY): a traceback
and exit code 1. A folder output replaces the folder whole, so the current folder and those
above it are refused, with one `Error:` line and exit code 2.
"""

import os
import subprocess
import sys

import pytest
from bad_world import one_error
from tiny import save_folder, tiny_model


@pytest.mark.parametrize("output", [".", "sub/inner/.."], ids=["dot", "dotdot"])
def test_export_to_dot_path_is_one_line_error(tmp_path, output):
    model = save_folder(tiny_model("llama", intermediate_size=72), tmp_path / "model")
    work = tmp_path / "work"
    (work / "sub" / "inner").mkdir(parents=True)
    (work / "mine.txt").write_text("user data")
    run = subprocess.run(
        [sys.executable, "-m", "mlx_ifp", "export", "--model", str(model), "-o", output,
         "--keep", "0.5"],
        cwd=work, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    one_error(run)
    assert (work / "mine.txt").read_text() == "user data"


def test_the_current_folder_by_its_full_path_is_refused(tmp_path, monkeypatch):
    from mlx_ifp import UsageError
    from mlx_ifp.common import check_writable

    monkeypatch.chdir(tmp_path)
    for output in (tmp_path, tmp_path.parent):
        with pytest.raises(UsageError, match="current folder"):
            check_writable(output, folder=True)
    assert check_writable(tmp_path / "new", folder=True) == tmp_path / "new"
