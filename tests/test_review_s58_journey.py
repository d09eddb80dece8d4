"""Review (s58, journey): README.md followed top to bottom as a new user on the Linux CPU.

``examples/serve_client.py``, the client the README's serve line points at, ended in a
40-line traceback for the two mistakes a new user makes first: run before the server is up
(``openai.APIConnectionError``) or without the key of a server started with ``--api-key``
(``openai.AuthenticationError`` from its first generation; ``/v1/models`` stays open). Both
tests failed before the fix (exit code 1, a ``Traceback`` on stderr); now each is one
``Error: ...`` line that says what to do, and exit code 2.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

from test_review_s50_hapikey import KEY, served  # noqa: F401 (a fixture)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "serve_client.py"


def _run(url, *args):
    env = {k: v for k, v in os.environ.items() if k != "MLX_IFP_API_KEY"}
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", url, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _one_error_line(run):
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr[-1500:]
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.stderr[-1500:]
    return lines[0]


def test_the_client_without_a_server_says_so_in_one_line():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = _one_error_line(_run(f"http://127.0.0.1:{port}/v1", "--model", "tiny"))
    assert f"127.0.0.1:{port}" in line and "mlx_ifp serve" in line


def test_the_client_without_the_servers_key_says_so_in_one_line(served, tmp_path):  # noqa: F811
    (tmp_path / "tasks.yaml").write_text("geo: t5 t6 t7 t8\n")
    server, _ = served("--api-key", KEY, "--tasks", str(tmp_path / "tasks.yaml"))
    run = _run(server.url + "/v1", "--model", "tiny")
    line = _one_error_line(run)
    assert "--api-key" in line and "MLX_IFP_API_KEY" in line
    assert "models: ['tiny'" in run.stdout  # (the open route answered first, as before)
