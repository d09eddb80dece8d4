"""Review (fifty-eighth session): seeded replies of ``generate``, ``chat`` and ``serve`` at
``--keep 1.0`` beside mlx-lm's (``mlx_lm generate``, ``mlx_lm chat``, ``mlx_lm server``) on
float16 and bfloat16 models on the CPU.

- On the CPU ``mlx_ifp.load`` runs a half-precision model in float32 (faster there), where
  mlx-lm runs it in its own dtype: a bfloat16 model's seeded reply was another than mlx-lm's
  after a few tokens (the tiny llama: the 9th; SmolLM2 too, ``--temp 0.7 --seed 3``; greedy
  replies agreed here, but a near-tie can part them too), in all three commands, and none of
  them could run the model in its own dtype: ``--dtype`` was "No such option". Now each takes
  ``--dtype`` (``load``'s ``dtype=``), and ``--dtype bfloat16`` gives mlx-lm's replies.

Every test below failed before ("No such option: --dtype"; the bad value's line is a guard of
its words). ``mlx_lm chat``'s and
``mlx_lm server``'s replies are made here as they make them (seed, then ``mlx_lm.load``, then
``stream_generate`` of the chat-templated message with their sampler): their consoles are not
parsed; the side-by-side runs of the commands themselves are in RELIABILITY.md.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time

import mlx_ifp  # noqa: F401  (first: the optimized BLAS before mlx.core)

import mlx.core as mx
import pytest
from tiny import save_folder, tiny_model

PROMPT = "t5 t17 t3 t99 t42"
TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}t8 {{ m['content'] }} "
    "{% else %}t9 {{ m['content'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}t9 {% endif %}"
)
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def bf16(tmp_path_factory):
    """A tiny bfloat16 llama with a chat template, as ``mlx_lm convert --dtype bfloat16``."""
    model = tiny_model("llama")
    model.set_dtype(mx.bfloat16)
    path = save_folder(model, tmp_path_factory.mktemp("s58seed") / "bf16")
    config = path / "tokenizer_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "chat_template": TEMPLATE}))
    return path


@pytest.fixture(scope="module")
def q16(tmp_path_factory):
    """A tiny packed llama of float16 scales (as most 4-bit mlx-community models)."""
    import mlx.nn as nn

    model = tiny_model("llama")
    model.set_dtype(mx.float16)
    nn.quantize(model, group_size=32, bits=4)
    return save_folder(model, tmp_path_factory.mktemp("s58seed") / "q16", quantized=True)


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], input=stdin, env=ENV, text=True,
                          capture_output=True, timeout=300)  # fmt: skip


def mlx_lm_reply(path, seed: int, max_tokens: int, server: bool = False, **sampling) -> str:
    """The first reply of ``mlx_lm chat --seed S`` (``sampling``: its flags) to PROMPT: seed,
    load (whose new layers draw from the random state), then the templated message through its
    sampler; or (``server``) ``mlx_lm server``'s to a chat request with ``seed`` S: seeded
    after the load."""
    import mlx_lm
    from mlx_lm.sample_utils import make_sampler

    mx.random.seed(seed)
    model, tok = mlx_lm.load(str(path))
    if server:
        mx.random.seed(seed)
    chat = [{"role": "user", "content": PROMPT}]
    prompt = tok.apply_chat_template(chat, add_generation_prompt=True)
    special = tok.encode("\n") + list(tok.eos_token_ids)
    sampler = make_sampler(**sampling, xtc_special_tokens=special)
    records = mlx_lm.stream_generate(model, tok, prompt, max_tokens, sampler=sampler)
    return "".join(r.text for r in records)


@pytest.mark.parametrize(
    "folder, flags",
    [("bf16", ["--dtype", "bfloat16"]), ("q16", ["--no-dequantize", "--dtype", "float16"])],
)
def test_generate_dtype_gives_mlx_lm_generates_seeded_reply(request, folder, flags):
    """A bfloat16 model in its dtype; a packed one of float16 scales kept packed, its scales and
    norms float16 (unpacked, or packed with float32 scales, it parted from mlx_lm's too)."""
    path = request.getfixturevalue(folder)
    args = ["--model", str(path), "-p", PROMPT, "-m", "24", "--temp", "0.7", "--seed", "3"]
    theirs = cli("mlx_lm", "generate", *args, "--verbose", "False")
    ours = cli("mlx_ifp", "generate", *args, "--keep", "1.0", "--quiet", *flags)
    assert theirs.returncode == ours.returncode == 0, (theirs.stderr, ours.stderr)
    assert len(theirs.stdout.split()) == 24 and ours.stdout == theirs.stdout, (ours, theirs)


def test_a_bad_dtype_is_one_line_before_the_model_loads(bf16):
    """The value is refused as export's --dtype refuses it (``load``'s check, before its read)."""
    done = cli("mlx_ifp", "generate", "--model", str(bf16), "-p", PROMPT, "--dtype", "half")
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.splitlines() == ["Error: --dtype must be float32, float16 or bfloat16, "
                                        "got 'half'"]  # fmt: skip


def test_chat_dtype_gives_mlx_lm_chats_seeded_first_reply(bf16):
    """``mlx_ifp chat`` with its input piped; its replies are the lines after each ``>> ``."""
    args = ["--model", str(bf16), "--keep", "1.0", "--quiet", "-m", "24", "--temp", "0.7"]
    done = cli(
        "mlx_ifp", "chat", *args, "--seed", "3", "--dtype", "bfloat16", stdin=f"{PROMPT}\nq\n"
    )
    assert done.returncode == 0, done.stderr
    reply = done.stdout.split(">> \n")[1].removesuffix("\n")
    assert reply == mlx_lm_reply(bf16, 3, 24, temp=0.7), done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, body: dict) -> str:
    """A chat request's reply text (streamed: its chunks' deltas joined)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"Content-Type": "application/json"})  # fmt: skip
    answer = conn.getresponse().read().decode()
    if not body.get("stream"):
        return json.loads(answer)["choices"][0]["message"]["content"]
    chunks = [line[6:] for line in answer.splitlines() if line.startswith("data: {")]
    deltas = [json.loads(c)["choices"] for c in chunks]
    return "".join(d[0]["delta"].get("content") or "" for d in deltas if d)


def test_serve_dtype_gives_mlx_lm_servers_seeded_reply(bf16):
    port = free_port()
    cmd = [sys.executable, "-m", "mlx_ifp", "serve", "--model", str(bf16), "--keep", "1.0",
           "--port", str(port), "--dtype", "bfloat16"]  # fmt: skip
    server = subprocess.Popen(cmd, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(240):  # up to a minute on a busy machine
            if server.poll() is not None:
                pytest.fail(f"serve exited {server.returncode}: {server.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.25)
        body = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 24, "seed": 3}
        body |= {"temperature": 0.9, "top_p": 0.9, "top_k": 20, "min_p": 0.05}
        want = mlx_lm_reply(bf16, 3, 24, True, temp=0.9, top_p=0.9, top_k=20, min_p=0.05)
        assert post(port, body) == want
        assert post(port, {**body, "stream": True}) == want
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.real
def test_smollm2_in_bfloat16_generate_dtype_gives_mlx_lms_seeded_reply(smollm2_dir, tmp_path):
    """The embedded SmolLM2 converted to bfloat16 (``mlx_lm convert --dtype bfloat16``): without
    ``--dtype`` its seeded reply parted from mlx_lm's at the 12th token ("the entrance ..." for
    "the kingdom's capital ...")."""
    from mlx_lm import convert

    convert(str(smollm2_dir), str(tmp_path / "bf16"), dtype="bfloat16")
    args = ["--model", str(tmp_path / "bf16"), "-p", "Write a short story about a castle.",
            "-m", "32", "--temp", "0.7", "--seed", "3"]  # fmt: skip
    theirs = cli("mlx_lm", "generate", *args, "--verbose", "False")
    ours = cli("mlx_ifp", "generate", *args, "--keep", "1.0", "--quiet", "--dtype", "bfloat16")
    assert theirs.returncode == ours.returncode == 0, (theirs.stderr, ours.stderr)
    assert len(theirs.stdout.split()) > 10 and ours.stdout == theirs.stdout, (ours, theirs)
