"""README.md against the code: the Python API example runs as written, the Quick start footer
is what the command prints, the Architecture diagram names every folder."""

import re
import subprocess
import sys
from pathlib import Path

import mlx_ifp

import pytest
from parallel import ahead, selected

README = Path(__file__).resolve().parent.parent / "README.md"


def python_api_block() -> str:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.real
def test_python_api_example_runs(smollm2_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it writes a mask and an exported folder
    scope: dict = {}
    exec(compile(python_api_block(), "README.md", "exec"), scope)
    assert (tmp_path / "python_mask.safetensors").exists()
    assert (tmp_path / "slim-python" / "config.json").exists()
    assert scope["text"].strip()
    assert scope["info"].prefill_s > 0 and not scope["info"].cache_hit
    assert capsys.readouterr().out.strip()  # the streaming loops printed text


def fenced_after(marker: str) -> str:
    """The first fenced block after ``marker`` in README.md."""
    text = README.read_text()
    return re.search(r"```[a-z]*\n(.*?)```", text[text.index(marker) :], re.S).group(1)


def test_architecture_names_every_folder():
    """The Architecture diagram and the package docstring name every folder of the package."""
    package = README.parent / "mlx_ifp"
    folders = sorted(p.name for p in package.iterdir() if p.is_dir() and p.name[0].isalpha())
    diagram = fenced_after("## Architecture")
    assert [f for f in folders if f"{f}/" not in diagram] == []
    stages = [f for f in folders if (package / f / "__init__.py").exists()]
    assert [f for f in stages if f"``{f}``" not in mlx_ifp.__doc__] == []


def timeless(lines: list[str]) -> list[str]:
    """Footer lines with their timings, speeds and peak memory left out (those vary), and the
    reply's length and re-pick count, "1 time" too (a greedy reply may end elsewhere on another
    CPU's BLAS)."""
    lines = [re.sub(r"\d+(\.\d+)? ?(ms|tokens-per-sec|GB)\b", "T", x) for x in lines]
    return [re.sub(r"^(Generation: |Re-picked the mask )\d+( times?)?", r"\1N", x) for x in lines]


@pytest.fixture(scope="module", autouse=True)
def set_up_command(request):
    """The set-up's first command, begun as the module starts if the footer's test was selected:
    it runs beside the Python API example (``parallel.ahead``), the footer's test waits for it."""
    if not selected(request, "test_footer_is_the_set_up_commands"):
        yield None
        return
    try:  # (the model fetched and converted first)
        request.getfixturevalue("smollm2_dir")
    except (
        Exception,
        pytest.skip.Exception,
        pytest.fail.Exception,
    ):  # a skip or failure there: the footer's test meets it itself, not
        yield None  # every test of the module, as an autouse fixture's error would be
        return

    def command():  # (a README without the command fails the footer's test only)
        prompt = re.search(r'mlx_ifp generate -p "([^"]+)"', fenced_after("## Set-up")).group(1)
        argv = [sys.executable, "-m", "mlx_ifp", "generate", "-p", prompt]
        return subprocess.run(argv, capture_output=True, text=True, timeout=600)

    with ahead(command) as r:
        yield r


@pytest.mark.real
def test_footer_is_the_set_up_commands(smollm2_dir, set_up_command):
    """The footer shown under Quick start is what the set-up's first command prints today, but
    for its timings and the reply's length: its lines, the prompt's tokens, the mask and the
    active parameters."""
    shown = fenced_after("the footer goes to").strip().splitlines()
    run = set_up_command.result()
    assert run.returncode == 0, run.stderr[-1500:]
    root = str(Path(mlx_ifp.__file__).resolve().parent.parent)
    printed = run.stderr.replace(root, "PATH").splitlines()
    printed = printed[printed.index("=" * 10) :]
    assert timeless(shown) == timeless(printed)
