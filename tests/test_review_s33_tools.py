"""`eval`, `bench`, `data build` and GGUF import: odd but plausible input found in the
thirty-third session's tools review to give a traceback, to be refused only after slow work (a
model load, a corpus build, a random preset), to be silently misread, to write a report with a
wrong number, or to overwrite an input. Each refusal is one `Error:` line and exit code 2."""

import json
import shutil

import mlx_ifp
from mlx_ifp.bench import models as bench_models
from mlx_ifp.evaluation import plots
from mlx_ifp.evaluation import run as ev

import mlx.core as mx
import pytest
import test_review_s32_cli
from bad_world import no_model_load, one_error
from corpus import ByteTokenizer, fake_corpus, fake_sources
from test_review_s32_cli import cli
from tiny import tiny_model

world = test_review_s32_cli.world  # the same tiny model and fake corpus


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own (corpora, GGUF conversions)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MLX_IFP_CACHE", str(folder))
    return folder


EVAL = ["--domains", "math", "--mask-sources", "full", "--limit", "1", "--gen-limit", "0"]
BENCH = ["--variants", "a", "--prompt-tokens", "4", "--gen-tokens", "2", "--trials", "1"]


# ------------------------------------------------------------------------------------- eval


@pytest.mark.parametrize(
    "flag, spec, missing",
    [
        ("--adapter", "ft={tmp}/no_such_finetune", "no_such_finetune"),
        ("--mask", "learned={tmp}/no_such_mask.safetensors", "no_such_mask"),
    ],
    ids=["adapter-folder-missing", "mask-file-missing"],
)
def test_eval_refuses_a_missing_adapter_or_mask_before_loading_the_model(
    world, tmp_path, monkeypatch, flag, spec, missing
):
    """Both were refused only once the model had loaded (and, for --adapter, with 'is not a
    finetune output folder' for a folder that is not there at all)."""
    no_model_load(monkeypatch)
    run = cli("eval", "--model", world["model"], "--data", world["corpus"], *EVAL,
              flag, spec.format(tmp=tmp_path))  # fmt: skip
    assert missing in one_error(run)


def test_eval_refuses_a_missing_model_before_building_the_corpus(tmp_path, monkeypatch, cache):
    """Without --data, eval built (or downloaded) the whole default corpus first, then said
    'model not found'."""
    fake_sources(tmp_path / "src", monkeypatch)
    run = cli("eval", "--model", tmp_path / "no_such_model", *EVAL)
    assert "not found" in one_error(run)
    assert list(cache.rglob("manifest.json")) == []  # no corpus was built for nothing


def test_eval_one_budget_as_a_fraction_and_as_a_count_runs_once(world, tmp_path):
    """`--keep 0.5,48` on a 96-channel model is one budget: it was evaluated twice, two
    identical rows in the JSON, and one of them hidden in the table."""
    out = tmp_path / "r.json"
    run = cli("eval", "--model", world["model"], "--data", world["corpus"], "--domains", "math",
              "--mask-sources", "random", "--keep", "0.5,48", "--limit", "2", "--gen-limit", "0",
              "-o", out)  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = [(r["source"], r["k"]) for r in json.loads(out.read_text())["results"]]
    assert rows == [("random", 48)]


def test_eval_reports_no_exact_match_for_no_generated_items(tmp_path):
    """Math items without a GSM8K answer: nothing is generated, yet the row said exact_match
    0.0 (and the table 0/0) as if every reply had been wrong."""
    folder = tmp_path / "corpus" / "domains" / "math"
    folder.mkdir(parents=True)
    items = [{"prompt": f"What is {i} plus {i}?", "completion": f"It is {2 * i}.",
              "provenance": {"source": "mine"}} for i in range(3)]  # fmt: skip
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    cfg = ev.EvalConfig(domains=("math",), sources=("full",), limit=3, gen_limit=2,
                        max_tokens={"math": 2, "code": 2})  # fmt: skip
    report = ev.evaluate(tiny_model("llama"), ByteTokenizer(), tmp_path / "corpus", cfg, False)
    (row,) = report["results"]
    assert row.get("gen_n", 0) == 0
    assert row.get("exact_match") is None, row
    assert "0/0" not in plots.markdown(report)


# ------------------------------------------------------------------------------------ bench


def test_bench_refuses_an_output_that_is_the_models_own_file(world, tmp_path):
    """`bench --model DIR -o DIR/config.json` ran, then wrote its JSON over the model's config
    (eval refuses the same output as one of its inputs)."""
    model = shutil.copytree(world["model"], tmp_path / "model")
    config = (model / "config.json").read_text()
    run = cli("bench", "--model", model, *BENCH, "-o", model / "config.json")
    one_error(run)
    assert (model / "config.json").read_text() == config


@pytest.mark.parametrize(
    "args, said",
    [
        (["--prompt-tokens", "2000", "--gen-tokens", "100"], "context of 2048"),
        (["--keep", "200"], "more than the 128 FFN channels"),
    ],
    ids=["over-context", "keep-over-ffn"],
)
def test_bench_refuses_what_a_preset_cannot_run_before_building_it(monkeypatch, args, said):
    """A preset's context and FFN width are in PRESETS: the check came only after its random
    weights were built (tiny here; 8b is 32 GB of float32 on a CPU)."""

    def built(*a, **k):
        raise AssertionError("the preset's random model was built before the refusal")

    monkeypatch.setattr(bench_models, "random_llama", built)
    run = cli("bench", "--preset", "tiny", "--variants", "a", "--trials", "1", *args)
    assert said in one_error(run)


def test_bench_json_records_each_keep_as_a_number(tmp_path):
    """From the command line each run's keep was the flag's text ("0.5", "64"); the Python API
    records numbers."""
    out = tmp_path / "b.json"
    run = cli("bench", "--preset", "tiny", *BENCH, "--keep", "0.5", "--keep", "32", "-o", out)
    assert run.returncode == 0, run.stderr
    keeps = [r["keep"] for r in json.loads(out.read_text())["runs"]]
    assert keeps == [0.5, 32]


def test_bench_with_a_preset_does_not_silently_drop_the_model(tmp_path):
    """`--preset` benchmarks a random model: a --model given with it was ignored without a
    word (here one that does not even exist), the JSON naming "random:tiny"."""
    run = cli("bench", "--preset", "tiny", "--model", tmp_path / "my_model", *BENCH)
    assert "--model" in one_error(run)


# ---------------------------------------------------------------- output paths, all three


def command_args(command: str, world, tmp_path, monkeypatch) -> list:
    """The command line of one of the three commands that take -o, short of the -o."""
    if command == "eval":
        return ["eval", "--model", world["model"], "--data", world["corpus"], *EVAL]
    if command == "bench":
        return ["bench", "--preset", "tiny", *BENCH]
    fake_sources(tmp_path / "src", monkeypatch)
    return ["data", "build"]


@pytest.mark.parametrize("command", ["eval", "bench", "data build"])
def test_an_output_starting_with_a_tilde_is_written_where_it_was_checked(
    world, tmp_path, monkeypatch, cache, command
):
    """`-o '~/x'` (as `--output=~/x` reaches the program): the location was checked under the
    home folder, then written to a folder literally named '~' in the working folder."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    args = command_args(command, world, tmp_path, monkeypatch)
    run = cli(*args, "-o", "~/out", cwd=work)
    assert run.returncode == 0, run.stderr
    assert not (work / "~").exists()
    assert (home / "out").exists()


@pytest.mark.parametrize("command", ["eval", "bench", "data build"])
def test_an_empty_output_is_refused_not_read_as_no_output(
    world, tmp_path, monkeypatch, cache, command
):
    """`-o "$OUT"` with OUT unset: eval and bench printed to stdout instead, data build wrote
    into the cache, all silently (info refuses an empty --model the same way)."""
    args = command_args(command, world, tmp_path, monkeypatch)
    run = cli(*args, "-o", "")
    one_error(run)


# ------------------------------------------------------------------------------- data build


def test_data_build_refuses_a_missing_distill_model_before_building(tmp_path, monkeypatch, cache):
    """`--distill N --model X`: the corpus was built (minutes with the real sources) before X
    was found not to exist."""
    fake_sources(tmp_path / "src", monkeypatch)
    out = tmp_path / "corpus"
    run = cli("data", "build", "-o", out, "--distill", "2", "--model", tmp_path / "no_model")
    assert "not found" in one_error(run)
    assert not out.exists()


def test_data_build_over_a_partial_folder_rebuilds_it(tmp_path, monkeypatch, cache):
    """A corpus folder with its manifest but a split file gone (a cut copy, a stray rm) was
    taken as built: `data build -o` on it printed the folder and left the split missing."""
    folder = fake_corpus(tmp_path, monkeypatch)
    split = folder / "domains" / "math" / "test.jsonl"
    split.unlink()
    run = cli("data", "build", "-o", folder)
    assert run.returncode == 0, run.stderr
    assert split.is_file()
    assert ev.instructions(folder, "math")


# ------------------------------------------------------------------------------ GGUF import


def gguf_meta(tmp_path):
    from test_gguf import tiny_model as gguf_tiny
    from test_gguf import write_gguf

    good = write_gguf(gguf_tiny("llama"), tmp_path / "good.gguf")
    return mx.load(str(good), return_metadata=True)


def set_key(key, value):
    return lambda meta: meta.__setitem__(key, value)


def drop_key(key):
    return lambda meta: meta.pop(key)


ODD = {
    "no-head-count": drop_key("llama.attention.head_count"),
    "no-embedding-length": drop_key("llama.embedding_length"),
    "no-block-count": drop_key("llama.block_count"),
    "no-token-list": drop_key("tokenizer.ggml.tokens"),
    "head-count-3": set_key("llama.attention.head_count", mx.array(3, dtype=mx.uint32)),
    "eps-a-string": set_key("llama.attention.layer_norm_rms_epsilon", "small"),
    "merge-without-a-space": set_key("tokenizer.ggml.merges", ["nospace"]),
}


@pytest.mark.parametrize("case", ODD, ids=list(ODD))
def test_an_odd_gguf_file_is_one_error_line(tmp_path, cache, case):
    """Metadata a hand-made or damaged GGUF file lacks or gets wrong: a TypeError, KeyError or
    ValueError traceback from the importer instead of one line naming the file."""
    weights, meta = gguf_meta(tmp_path)
    ODD[case](meta)
    path = tmp_path / "odd.gguf"
    mx.save_gguf(str(path), weights, meta)
    run = cli("generate", "--model", path, "-p", "hi", "-m", "1")
    assert "odd.gguf" in one_error(run)


def test_a_gguf_token_type_list_shorter_than_the_vocabulary_is_one_error_line(tmp_path, cache):
    """`zip(..., strict=True)` raised a bare ValueError: a traceback."""
    weights, meta = gguf_meta(tmp_path)
    meta["tokenizer.ggml.token_type"] = meta["tokenizer.ggml.token_type"][:10]
    path = tmp_path / "types.gguf"
    mx.save_gguf(str(path), weights, meta)
    run = cli("generate", "--model", path, "-p", "hi", "-m", "1")
    assert "types.gguf" in one_error(run)


def test_a_gguf_file_with_a_long_legal_name_loads(tmp_path, cache):
    """A 245-character stem is a legal file name, but the cache folder made from it (stem +
    '-q-' + 16 hex digits) is not: `[Errno 36] File name too long` for a good file."""
    weights, meta = gguf_meta(tmp_path)
    path = tmp_path / ("m" * 245 + ".gguf")
    mx.save_gguf(str(path), weights, meta)
    net, _ = mlx_ifp.load(str(path))
    assert net.args.num_hidden_layers == 2


def test_an_mlx_folder_named_like_a_gguf_file_loads(world, tmp_path):
    """`export --format mlx -o slim.gguf` writes an mlx-lm folder of that name; loading it was
    'GGUF file not found: slim.gguf' although it is right there."""
    folder = shutil.copytree(world["model"], tmp_path / "slim.gguf")
    net, _ = mlx_ifp.load(str(folder))
    assert net.args.num_hidden_layers == 3
