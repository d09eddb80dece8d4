"""Help text a new user reads (fiftieth session, found by review): ``serve --api-key`` said only
/health and /v1/models stay open (the bare /models and the model cards are open too, and
X-Api-Key is read as well); ``mlx_ifp --help`` listed eval with its whole first paragraph and
showed no example."""

from __future__ import annotations

import re

from mlx_ifp.cli import app

import pytest
from typer.testing import CliRunner


def helped(*args: str) -> str:
    run = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "400"})
    assert run.exit_code == 0, run.output
    return " ".join(run.output.split())


def test_serve_help_names_every_open_path():
    pytest.importorskip("starlette")
    from mlx_ifp.serve.app import CARDS, PUBLIC

    text = helped("serve")
    row = text[text.index("--api-key ") :].split("--api-key-file")[0]
    for path in PUBLIC:  # each on its own: "/models" not only inside "/v1/models"
        assert re.search(rf"(?<![\w/]){re.escape(path)}\b", row), (path, row)
    for path in CARDS:  # a card: /v1/models/ID
        assert path in row, (path, row)
    assert "X-Api-Key" in row


def test_listing_shows_first_lines_and_examples():
    text = helped()
    assert "comma-separated list flag" not in text  # eval's second sentence: its own --help
    assert "comma-separated list flag" in helped("eval")
    assert "Examples" in text and "mlx_ifp generate -p" in text
