"""The README's Python API example runs as written, on the real model."""

import re
from pathlib import Path

import pytest

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
