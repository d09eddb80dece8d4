"""Review (s49, hdiff): the day's merged changes read commit by commit.

- ``serve``'s CORS middleware was given Starlette's ``allow_private_network``, an option Starlette
  has only since 0.51; ``pyproject.toml`` takes ``starlette>=0.37``. On 0.37-0.50 (the Starlette
  that many FastAPI installs pin) ``CORSMiddleware(..., allow_private_network=...)`` is a
  ``TypeError`` when the app first builds its middleware: **every request, the default
  ``--cors-origin *`` included, answered 500**. Now the option is passed only to a Starlette that
  has it (an older one answers as before the change: no private-network grant).
- ``finetune``'s check for a launch whose backend MLX cannot start read the world size from
  ``MLX_WORLD_SIZE`` (mlx.launch's nccl), Open MPI's variables and the ring's hostfile; its
  comment named jaccl too, but ``mlx.launch --backend jaccl`` sets none of them (its world is
  the ``MLX_IBV_DEVICES`` file, one row per rank): such a launch that fell back to a world of one
  **trained each process alone into one folder, unsaid**. Now that file counts as well.

Each test fails on the code it was written against (ff48251), for the reason its docstring gives.
"""

import json
import os
import subprocess
from pathlib import Path

from mlx_ifp.serve import app as serve_app
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits
from mlx_ifp.train.config import FinetuneConfig, world_problem

import pytest
from starlette.middleware.cors import CORSMiddleware
from test_review_s44_serve2 import CHAT, call
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model


class CORSBefore051(CORSMiddleware):
    """Starlette 0.37-0.50's CORSMiddleware: the same options but ``allow_private_network``."""

    def __init__(self, app, allow_origins=(), allow_methods=("GET",), allow_headers=(),
                 allow_credentials=False, allow_origin_regex=None, expose_headers=(),
                 max_age=600):  # fmt: skip
        super().__init__(
            app, allow_origins, allow_methods, allow_headers, allow_credentials,
            allow_origin_regex, expose_headers=expose_headers, max_age=max_age,
        )  # fmt: skip


@pytest.fixture(scope="module")
def registry():
    return Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)


@pytest.mark.parametrize("origins", [("*",), ("http://localhost:3000",)])
def test_serve_answers_on_a_starlette_without_private_network_access(
    registry, monkeypatch, origins
):
    """Every request was a 500 (``TypeError: ... unexpected keyword argument
    'allow_private_network'`` building the middleware) on the Starlette versions pyproject
    allows before 0.51: the default ``*`` and named origins alike."""
    monkeypatch.setattr(serve_app, "CORSMiddleware", CORSBefore051)
    server = Server(create_app(registry, Limits(timeout_s=30), cors_origins=origins))
    try:
        status, headers, answer = call(server, "POST", "/v1/chat/completions", CHAT,
                                       Origin="http://localhost:3000")  # fmt: skip
        assert status == 200, (status, answer)
        assert answer["choices"][0]["message"]["content"] is not None
        assert headers.get("access-control-allow-origin") in ("*", "http://localhost:3000")
    finally:
        server.stop()


class _One:
    """``mx.distributed.init()``'s group where no backend started: a world of one."""

    def size(self):
        return 1

    def rank(self):
        return 0


def test_a_jaccl_launch_with_a_world_of_one_is_refused(tmp_path, monkeypatch):
    """``mlx.launch --backend jaccl`` (two Macs over Thunderbolt RDMA) gives each process
    ``MLX_RANK`` and ``MLX_IBV_DEVICES`` (a file: one row of devices per rank), no
    ``MLX_WORLD_SIZE``: where MLX could not start jaccl, no problem was found, and each process
    trained alone as rank 0 into the same output folder."""
    for name in ("MLX_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "MLX_HOSTFILE"):
        monkeypatch.delenv(name, raising=False)
    devices = tmp_path / "ibv.json"
    devices.write_text(json.dumps([[None, "rdma_en5"], ["rdma_en5", None]]) + "\n")
    monkeypatch.setenv("MLX_IBV_DEVICES", str(devices))
    monkeypatch.setenv("MLX_RANK", "1")
    said = world_problem(FinetuneConfig(output=str(tmp_path / "out")), _One())
    assert said is not None and said[1] == 1, said
    assert "process 1 of 2 (MLX_IBV_DEVICES)" in said[0]


def test_a_single_process_with_no_launcher_is_not_refused(tmp_path, monkeypatch):
    """Guard: no launcher's variable (an unreadable or one-row devices file neither): no
    problem, as before."""
    for name in ("MLX_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "MLX_HOSTFILE", "MLX_IBV_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    cfg = FinetuneConfig(output=str(tmp_path / "out"))
    assert world_problem(cfg, _One()) is None
    monkeypatch.setenv("MLX_RANK", "0")
    for content in ("\n", "[[null]]\n"):  # (mlx.launch writes an empty file for one host)
        (tmp_path / "ibv.json").write_text(content)
        monkeypatch.setenv("MLX_IBV_DEVICES", str(tmp_path / "ibv.json"))
        assert world_problem(cfg, _One()) is None


def test_an_mlx_lm_convert_flag_says_one_counterpart(capsys):
    """``export --hf-path X`` said ``No such option: --hf-path (Possible options: --adapter-path)
    (mlx_lm convert's --hf-path: --model here)``: click's guess from the spelling, since
    ``--adapter-path`` became an alias of ``--adapter``, named a flag of another meaning beside
    ours (``--save-path`` alike). The line names what the flag is here, and no guess."""
    from mlx_ifp.cli import main

    for flag, ours in (("--hf-path", "--model here"), ("--save-path", "--output/-o here")):
        with pytest.raises(SystemExit):
            main(["export", flag, "x"])
        said = capsys.readouterr().err.strip()
        assert said.count("\n") == 0 and ours in said, said
        assert "Possible options" not in said and "--adapter-path" not in said, said


def _wait_others(lanes, arm: str) -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[1] / "tools" / "device_lanes.sh"
    env = {**os.environ, "LANES_DIR": str(lanes)}
    try:
        return subprocess.run(["bash", str(script), "wait-others", arm], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"wait-others {arm} never returned: each out-of-memory lane waits on the other")


def test_two_lanes_out_of_memory_do_not_wait_on_each_other(tmp_path):
    """``tools/device_lanes.sh``: a lane whose stage 2 ran out of memory waits until every other
    lane has said TRAINDONE, then reruns alone. Two lanes out of memory at once (the case it was
    written for: two lanes that together fill the GPU) **each waited on the other, forever**:
    neither says TRAINDONE before its rerun. A lane waiting too counts as out of the way (the
    reruns then take turns)."""
    (tmp_path / "lane_rw25.log").write_text("stage 2 out of memory; waiting\n")
    (tmp_path / "lane_rw25.waiting").write_text("")
    (tmp_path / "lane_static.log").write_text("stage 2 out of memory; waiting\n")
    assert _wait_others(tmp_path, "static").returncode == 0


def test_a_finished_lane_is_not_waited_on(tmp_path):
    """Guard: a lane that said TRAINDONE is out of the way, as before."""
    (tmp_path / "lane_rw25.log").write_text("...\nTRAINDONE\n")
    (tmp_path / "lane_static.log").write_text("stage 2 out of memory\n")
    assert _wait_others(tmp_path, "static").returncode == 0
