"""Review (s50, hreadme): README.md and docs/serve.md read as a new user after ``serve --api-key``.

The README's serve line starts ``mlx_ifp serve`` and points at ``examples/serve_client.py``;
with the session's new ``--api-key`` (or ``MLX_IFP_API_KEY``) the example could not be used:
it sent the fixed key "not-needed" and had no way to send another, so its first generation
was a 401 (``openai.AuthenticationError``) after ``/v1/models``, which stays open, answered.
Now it takes ``--api-key`` and, left out, the ``MLX_IFP_API_KEY`` the server reads too.

Both tests fail on the code they were written against (``--api-key``: "unrecognized
arguments"; the variable: the 401).
"""

import os
import subprocess
import sys
from pathlib import Path

from test_review_s50_hapikey import KEY, served  # noqa: F401 (a fixture)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "serve_client.py"


def _run_example(server, *args, env_key=None):
    env = {k: v for k, v in os.environ.items() if k != "MLX_IFP_API_KEY"}
    if env_key is not None:
        env["MLX_IFP_API_KEY"] = env_key
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", server.url + "/v1", "--model", "tiny", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _start(served, tmp_path):  # noqa: F811
    (tmp_path / "tasks.yaml").write_text("geo: t5 t6 t7 t8\n")
    server, _ = served("--api-key", KEY, "--tasks", str(tmp_path / "tasks.yaml"))
    return server


def test_the_serve_client_example_sends_the_key_it_is_given(served, tmp_path):  # noqa: F811
    run = _run_example(_start(served, tmp_path), "--api-key", KEY)
    assert run.returncode == 0, run.stderr[-1500:]
    assert "active parameters" in run.stdout and "models: ['tiny'" in run.stdout


def test_the_serve_client_example_reads_the_servers_key_variable(served, tmp_path):  # noqa: F811
    server = _start(served, tmp_path)
    run = _run_example(server, env_key=KEY)
    assert run.returncode == 0, run.stderr[-1500:]
    assert "active parameters" in run.stdout
    wrong = _run_example(server, env_key="not-" + KEY)  # a wrong key: the server's 401 still
    assert wrong.returncode != 0 and "AuthenticationError" in wrong.stderr
