"""`mlx_ifp data`, `eval`, `plot`, `bench` and the HumanEval sandbox: inputs found in review to
reach the run unchecked (a traceback, a result silently wrong, or an error only after all the
work) and hostile programs the sandbox let out (a stderr flood, a signal to another process, a
program left running after Ctrl-C). Each refusal is one `Error:` line and exit code 2."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from mlx_ifp.cli import app
from mlx_ifp.common import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.evaluation import metrics, sandbox
from mlx_ifp.evaluation import run as ev

import pytest
from bad_world import listing, one_error
from corpus import ByteTokenizer, fake_corpus, fake_sources
from tiny import finetune_folder, save_folder, tiny_model
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
MATH = "domains/math/test.jsonl"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("tools")
    model = tiny_model("llama")
    with pytest.MonkeyPatch.context() as mp:
        corpus = fake_corpus(root, mp)
    cfg = ev.EvalConfig(domains=("math",), sources=("full", "random"), keeps=(0.25, 0.5),
                        limit=2, gen_limit=0)  # fmt: skip
    report = root / "report.json"
    report.write_text(json.dumps(ev.evaluate(model, ByteTokenizer(), corpus, cfg, False)))
    big_k = finetune_folder(model, root / "big_k", 48)
    cfg_path = big_k / "ifp_config.json"
    cfg_path.write_text(json.dumps({**json.loads(cfg_path.read_text()), "k": 10**9}))
    return {
        "model": save_folder(model, root / "model"),
        "adapter": finetune_folder(model, root / "adapter", 48),
        "big_k": big_k,
        "corpus": corpus,
        "report": report,
    }


def cli(*args: str, cwd: Path | None = None):
    """The CLI in-process; a result ``one_error`` reads (an uncaught exception is exit code 1)."""
    run = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    if run.exception is not None and not isinstance(run.exception, SystemExit):
        raise run.exception  # a traceback: show it
    return SimpleNamespace(returncode=run.exit_code, stderr=run.stderr, stdout=run.stdout)


def eval_args(w, *extra):
    return ["eval", "--model", w["model"], "--data", w["corpus"], "--domains", "math",
            "--mask-sources", "full,random", "--keep", "0.5", "--modes", "input", "--limit", "2",
            "--gen-limit", "0", *extra]  # fmt: skip


# ---------------------------------------------------------------- eval: flags and outputs

#: (id, extra eval flags, a fragment of the one error line)
EVAL = [
    ("output-a-folder", ["-o", "{corpus}"], "is a folder"),
    ("batch-size-0", ["--batch-size", "0"], "--batch-size must be at least 1"),
    ("batch-size-negative", ["--batch-size", "-2"], "--batch-size must be at least 1"),
    ("max-len-0", ["--max-len", "0"], "--max-len must be at least 2"),
    ("max-tokens-0", ["--max-tokens", "0"], "--max-tokens must be at least 1"),
    ("max-tokens-negative", ["--max-tokens", "-1"], "--max-tokens must be at least 1"),
    ("gen-limit-negative", ["--gen-limit", "-1"], "--gen-limit must be at least 0"),
    ("timeout-nan", ["--timeout", "nan"], "--timeout must be seconds"),
    ("timeout-inf", ["--timeout", "inf"], "--timeout must be seconds"),
    ("timeout-0", ["--timeout", "0"], "--timeout must be seconds"),
    ("timeout-huge", ["--timeout", "1e20"], "--timeout must be seconds"),
    ("keep-empty", ["--keep", ","], "no keep ratio given"),
    ("adapter-named-like-a-source", ["--adapter", "random={adapter}"], "needs its own name"),
    ("mask-name-twice", ["--mask", "a=x", "--mask", "a=y"], "gives the name 'a' twice"),
    ("adapter-k-out-of-range", ["--adapter", "x={big_k}"], "is not a channel count in 1..96"),
]  # fmt: skip


@pytest.mark.parametrize("extra, fragment", [c[1:] for c in EVAL], ids=[c[0] for c in EVAL])
def test_eval_bad_flag_is_one_error_line(world, extra, fragment):
    before = listing(world["corpus"], world["model"])
    run = cli(*eval_args(world, *[a.format(**world) for a in extra]))
    assert fragment in one_error(run)
    assert listing(world["corpus"], world["model"]) == before


def test_eval_output_onto_an_input_file_is_refused(world, tmp_path):
    """`-o MODEL/config.json` overwrote the model's config with the report."""
    model = Path(shutil.copytree(world["model"], tmp_path / "model"))
    config = (model / "config.json").read_text()
    args = eval_args(world, "-o", model / "config.json")
    args[args.index("--model") + 1] = model
    assert "would overwrite the input" in one_error(cli(*args))
    assert (model / "config.json").read_text() == config


def test_a_template_longer_than_max_len_is_refused_not_scored():
    """The chat template alone past --max-len: each item scored nothing (0 tokens, ppl 1)."""

    class Templated(ByteTokenizer):
        chat_template = "tiny"

        def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
            return "<|user|>" + messages[-1]["content"] + "<|end|><|assistant|>"

    items = [{"prompt": "What is 2+2?", "completion": "4"}]
    with pytest.raises(UsageError, match="--max-len 12 leaves no room for a reference"):
        metrics.pairs(Templated(), items, 12)


def test_duplicate_domains_run_once(world):
    """`--domains math,math` counted math twice: the progress line ended 'stopped at 2/4'."""
    run = cli(*eval_args(world), "--domains", "math,math")
    assert run.returncode == 0, run.stderr
    finished = [x for x in run.stderr.splitlines() if x.startswith("eval: ")][-1]
    assert finished.startswith("eval: finished, 2/2"), finished


# ---------------------------------------------------------------- corpus files


def test_bom_crlf_and_blank_lines_are_read(world, tmp_path):
    folder = Path(shutil.copytree(world["corpus"], tmp_path / "c"))
    lines = (folder / MATH).read_text().splitlines()
    (folder / MATH).write_bytes(("\ufeff\r\n  \r\n" + "\r\n\r\n".join(lines) + "\r\n").encode())
    assert data.load_split(folder, "math") == data.load_split(world["corpus"], "math")


#: (id, what to write, where, a fragment of the one error line)
CORPUS = [
    ("line-not-json", b'{"prompt": \n', MATH, "line 1: not valid JSON"),
    ("line-a-list", b"[1, 2]\n", MATH, "line 1: expected an object"),
    ("line-without-prompt", b'{"question": "x"}\n', MATH, "line 1: expected an object"),
    ("line-not-utf8", b'{"prompt": "caf\xe9"}\n', MATH, "is not UTF-8 text"),
    ("tasks-not-json", b"{broken", "tasks.json", "is not valid JSON"),
    ("tasks-a-list", b"[1]", "tasks.json", "must hold a JSON dict"),
]  # fmt: skip


@pytest.mark.parametrize(
    "raw, where, fragment", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_bad_corpus_file_is_one_error_line(world, tmp_path, raw, where, fragment):
    folder = Path(shutil.copytree(world["corpus"], tmp_path / "c"))
    old = (folder / where).read_bytes() if where.endswith("jsonl") else b""
    (folder / where).write_bytes(raw + old)
    args = eval_args(world)
    args[args.index("--data") + 1] = folder
    assert fragment in one_error(cli(*args))


def test_tasks_json_without_a_domain_keeps_the_builtin_task(world, tmp_path):
    """A corpus tasks.json naming only some domains: eval failed with KeyError on the others."""
    folder = Path(shutil.copytree(world["corpus"], tmp_path / "c"))
    (folder / "tasks.json").write_text('{"code": "Write Python."}')
    tasks = data.tasks(folder)
    assert tasks["code"] == "Write Python." and tasks["math"] == data.TASKS["math"]


def test_a_corrupt_manifest_is_rebuilt(world, tmp_path, monkeypatch):
    """`data build` on a folder whose manifest.json is broken: a JSONDecodeError traceback."""
    folder = Path(shutil.copytree(world["corpus"], tmp_path / "c"))
    (folder / "manifest.json").write_text("{broken")
    fake_sources(tmp_path / "src", monkeypatch)
    assert data.build(folder, verbose=False) == folder
    assert json.loads((folder / "manifest.json").read_text())["version"] == data.VERSION


def test_data_build_refuses_a_negative_distill(tmp_path, monkeypatch):
    """`--distill -3` built the corpus and silently distilled nothing."""
    fake_sources(tmp_path / "src", monkeypatch)
    run = cli("data", "build", "-o", tmp_path / "out", "--distill", "-3")
    assert "--distill must be 0" in one_error(run)
    assert not (tmp_path / "out").exists()


def test_data_build_refuses_a_folder_of_other_files(tmp_path, monkeypatch):
    """`data build -o` a folder of the user's files replaced it whole (deleting them), as
    finetune and export did; a corpus folder (with its manifest) is still rebuilt."""
    fake_sources(tmp_path / "src", monkeypatch)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    run = cli("data", "build", "-o", mine)
    assert "folder of other files" in one_error(run)
    assert (mine / "notes.txt").read_text() == "keep me"


# ---------------------------------------------------------------- plot and bench


@pytest.mark.parametrize(
    "text, fragment",
    [("[1, 2]", "must hold a JSON dict"), ("{}", "no 'results' list"), ("nope", "not valid JSON"),
     ('{"runs": []}', "no 'results' list"), ('{"results": [{"ppl": 2}]}', "rows lack one of")],
    ids=["a-list", "empty", "not-json", "a-bench-report", "rows-without-keys"],
)  # fmt: skip
def test_plot_quality_from_a_wrong_report_is_one_error_line(tmp_path, text, fragment):
    (tmp_path / "r.json").write_text(text)
    run = cli("plot", "quality", "--report", tmp_path / "r.json", "-o", tmp_path / "q.png")
    assert fragment in one_error(run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


@pytest.mark.parametrize("name, fragment", [("q.txt", "cannot write a .txt figure"),
                                            ("sub", "is a folder")])  # fmt: skip
def test_plot_output_refused_before_the_work(world, tmp_path, name, fragment):
    (tmp_path / "sub").mkdir()
    run = cli("plot", "quality", "--report", world["report"], "-o", tmp_path / name)
    assert fragment in one_error(run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_plot_quality_metric_nll_as_its_help_says(world, tmp_path):
    run = cli("plot", "quality", "--report", world["report"], "-o", tmp_path / "q.png",
              "--metric", "nll")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "q.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_overlap_skips_domains_the_corpus_lacks(world, tmp_path):
    """Without the Debian prose packages (pip only, macOS) `plot overlap` always failed on
    prose; eval skips it with a warning, and so does the plot now."""
    out = tmp_path / "o.png"
    run = cli("plot", "overlap", "--model", world["model"], "--data", world["corpus"], "-o", out,
              "-n", "2", "--mask-source", "random")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "skipping domain(s) prose" in run.stderr
    assert json.loads(out.with_suffix(".json").read_text())["domains"] == [
        "math", "code", "science", "general"]  # fmt: skip


def test_bench_bad_plot_and_variants_are_refused_before_benchmarking(tmp_path):
    bench = ["bench", "--preset", "tiny", "--prompt-tokens", "4", "--gen-tokens", "2"]
    for extra, fragment in [
        (["--plot", tmp_path / "p.txt"], "cannot write a .txt figure"),
        (["--variants", ""], "--variants takes letters"),
        (["-o", tmp_path / "b.png", "--plot", tmp_path / "b.png"], "name the same file"),
    ]:
        run = cli(*bench, *extra)
        assert fragment in one_error(run) and "dense source" not in run.stderr
    assert not list(tmp_path.iterdir())


def test_no_matplotlib_is_one_error_line(world, tmp_path, monkeypatch):
    """matplotlib is a dev extra only: `plot` and `bench --plot` were a ModuleNotFoundError
    traceback (bench's after the whole run)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    run = cli("plot", "quality", "--report", world["report"], "-o", tmp_path / "q.png")
    assert "plots need matplotlib" in one_error(run)
    run = cli("bench", "--preset", "tiny", "--plot", tmp_path / "p.png")
    assert "plots need matplotlib" in one_error(run) and "dense source" not in run.stderr
    assert not list(tmp_path.iterdir())


def test_bench_help_says_what_each_variant_is():
    import typer

    params = typer.main.get_command(app).commands["bench"].params
    text = next(p.help for p in params if p.name == "variants")
    assert "a dense source, b masked, c slim" in text and "h mask read off" in text, text


# ---------------------------------------------------------------- the sandbox

FLOOD = "import sys\nb = 'x' * 65536\nwhile True:\n    sys.stderr.write(b)\n"


def test_a_stderr_flood_does_not_fill_the_evaluations_memory():
    """The child's stderr was read whole: 1.5 GB in the evaluation after 3 s of a flood."""
    code = (
        "import resource\nfrom mlx_ifp.evaluation.sandbox import run_program\n"
        "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"before = peak()\nr = run_program({FLOOD!r}, timeout=2)\n"
        "print(r.status, (peak() - before) // 1024)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)  # fmt: skip
    status, grown = run.stdout.split()
    assert status == "timeout" and int(grown) < 100, run.stdout  # MB (KiB on Linux, / 1024)


@pytest.mark.skipif(sandbox.no_process_filter() is None, reason="no seccomp filter here")
def test_a_program_cannot_signal_another_process():
    """`os.kill(pid, SIGKILL)` in generated code killed an unrelated process (the evaluation
    itself, with os.getppid())."""
    victim = subprocess.Popen(["sleep", "30"])
    try:
        code = f"import os, signal\nos.kill({victim.pid}, signal.SIGKILL)\n"
        result = sandbox.run_program(code, timeout=5)
        time.sleep(0.2)
        assert victim.poll() is None, "the sandboxed program killed another process"
        assert result.status == "failed" and "PermissionError" in result.detail, result
        own = "import os, signal\nos.kill(os.getpid(), 0)\nsignal.raise_signal(0)\n"
        assert sandbox.run_program(own, timeout=5).passed  # its own process: allowed
    finally:
        victim.kill()
        victim.wait()


def test_ctrl_c_kills_the_running_program(monkeypatch):
    """Ctrl-C while a program ran left it running, orphaned, with no time limit but its CPU."""
    started = []
    real = subprocess.Popen
    monkeypatch.setattr(
        subprocess, "Popen", lambda *a, **k: started.append(real(*a, **k)) or started[-1]
    )

    def interrupt(*_):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            sandbox.run_program("import time\ntime.sleep(30)\n", timeout=20)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    try:
        assert started[0].wait(timeout=5) is not None
    finally:
        started[0].kill()


def test_a_cache_folder_that_cannot_be_made_is_one_line(tmp_path):
    """``MLX_IFP_CACHE`` below a file: ``import mlx_ifp`` was a traceback (the BLAS loader made
    its cache folder at import); now the import works and a command says what to do."""
    import os
    import subprocess
    import sys

    from bad_world import one_error

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {**os.environ, "MLX_IFP_CACHE": str(blocker / "cache")}
    code = "import mlx_ifp; print('ok')"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
    cmd = [sys.executable, "-m", "mlx_ifp", "generate", "-p", "hi"]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert "cannot use the cache folder" in one_error(run) and "MLX_IFP_CACHE" in run.stderr
