"""Review (s57) of the Python API's words: each test failed before its fix, for the reason in
its docstring.

- A caller of ``import mlx_ifp`` was told of the command line's flags: ``Pruner(m, t,
  keep=2.5)``, ``generate(..., keep=0)``, ``Budget(0.5, 0)``, ``export_gguf(..., gguf_type="x")``
  and ``load(m, dtype="int8")`` raised "--keep 2.5 is neither ...", "--keep must be > 0",
  "--align must be ...", "--gguf-type must be ...", "--dtype must be ...". They name the
  parameter now; the command line still names its flag (``cli.flag_words``).
- ``Pruner.slim_for(text, key_text=...)``, used nowhere, keyed the cache by the caller's word:
  two texts under one ``key_text`` got the first one's mask (``key_text=5``: AttributeError).
  It is deprecated and ignored (a DeprecationWarning): the text keys the cache.
- ``make_source("griffin", bogus=1)`` (and a misspelt ``sed=`` for random, an instance with an
  option) was taken without a word, where ``Pruner(..., bogus=1)`` refuses it.
"""

import warnings

import mlx_ifp
from mlx_ifp import Budget, UsageError
from mlx_ifp.cli import app
from mlx_ifp.sources import make_source

import pytest
from test_api_edges import registry  # noqa: F401  (autouse: registered sources are dropped)
from test_review_s43_load import lora_world  # noqa: F401  (an mlx_lm lora folder: no predictor)
from tiny import endless_tokenizer, save_folder, tiny_model
from typer.testing import CliRunner

D = 96  # the tiny llama's FFN channels


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def refusal(fn, opens: str) -> str:
    """The one-line UsageError of ``fn()``, which must open with the parameter's name and name
    no flag."""
    with pytest.raises(UsageError) as e:
        fn()
    text = str(e.value)
    assert text.startswith(f"{opens} ") and "--" not in text and "\n" not in text, text
    return text


@pytest.mark.parametrize("keep", [2.5, 0, "half", 5000], ids=["fraction", "zero", "text", "wide"])
def test_the_api_names_keep_not_the_flag(tiny, keep):
    """`Pruner(m, t, keep=2.5)`: "--keep 2.5 is neither a fraction <= 1 nor a whole channel
    count", a flag the caller never wrote (also generate's and Budget's)."""
    model, tok = tiny
    refusal(lambda: mlx_ifp.Pruner(model, tok, keep=keep), "keep")
    refusal(lambda: mlx_ifp.generate(model, tok, "t5", max_tokens=1, keep=keep), "keep")


def test_the_api_names_align_gguf_type_and_dtype(tmp_path):
    refusal(lambda: Budget(0.5, 0), "align")
    refusal(lambda: Budget.parse("0.5", align=-1), "align")
    said = refusal(lambda: mlx_ifp.export_gguf(None, None, tmp_path / "a.gguf", "x"), "gguf_type")
    assert "f16" in said and not (tmp_path / "a.gguf").exists()
    folder = str(save_folder(tiny_model("llama"), tmp_path / "m"))
    refusal(lambda: mlx_ifp.load(folder, dtype="int8"), "dtype")
    assert mlx_ifp.load(folder, dtype="float16")[0] is not None  # not every dtype refused


@pytest.mark.parametrize(
    "said, shown",
    [
        ("keep 2.5 is neither a fraction", "--keep 2.5 is neither a fraction"),
        ("gguf_type must be one of f16", "--gguf-type must be one of f16"),
        ("dtype must be float32", "--dtype must be float32"),
        ("keeper 3", "keeper 3"),  # a word that is not a parameter: as it is
        ("task 'x': keep 2.5 is", "task 'x': keep 2.5 is"),  # only the opening word
        ("--keep 1 keeps every channel", "--keep 1 keeps every channel"),
    ],
)
def test_the_command_line_shows_the_flag(said, shown):
    from mlx_ifp.cli import flag_words  # (new: imported here, so the other tests ran before)

    assert flag_words(said) == shown


@pytest.mark.parametrize(
    "args, shown",
    [
        (["--keep", "2.5"], "Error: --keep 2.5 is neither a fraction <= 1"),
        (["--keep", "0"], "Error: --keep must be > 0"),
        (["--align", "0"], "Error: --align must be a whole number >= 1"),
        (["--dtype", "int3"], "Error: --dtype must be float32"),
    ],
)
def test_the_command_line_still_names_its_flags(args, shown):
    run = CliRunner().invoke(app, ["bench", "--preset", "135m", *args])
    assert run.exit_code == 2 and run.output.startswith(shown), run.output


# --------------------------------------------------------------------- slim_for(key_text=...)


def test_slim_for_key_text_is_deprecated_and_the_text_keys_the_cache(tiny):
    """Two texts under one ``key_text`` got the first one's slim model (a cache hit)."""
    model, tok = tiny
    pruner = mlx_ifp.Pruner(model, tok, source="griffin", keep=0.5)
    _, first = pruner.slim_for("t5 t6 t7")
    with pytest.warns(DeprecationWarning, match="key_text"):
        _, other = pruner.slim_for("t9 t3 t1 t8", key_text="same")
    with pytest.warns(DeprecationWarning, match="key_text"):
        _, again = pruner.slim_for("t5 t6 t7", key_text=5)  # was AttributeError
    assert not other.cache_hit and again.cache_hit
    assert other.mask.digest() != first.mask.digest() == again.mask.digest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pruner.slim_for("t9 t3 t1 t8")[1].cache_hit  # no key_text: no warning


# ----------------------------------------------------- make_source: unknown options refused


@pytest.mark.parametrize(
    "name, options, accepted",
    [
        ("griffin", {"bogus": 1}, "tokenizer, adapter_path"),
        ("random", {"sed": 3}, "seed, tokenizer, adapter_path"),
        ("full", {"path": "run"}, "tokenizer, adapter_path"),
        ("static-act", {"calibraton": ["a"]}, "calibration, tokenizer, adapter_path"),
    ],
)
def test_make_source_refuses_an_option_its_source_reads_not(name, options, accepted):
    """`make_source("griffin", bogus=1)` made GRIFFIN and dropped the option; `Pruner(...,
    bogus=1)` refused it."""
    with pytest.raises(UsageError) as e:
        make_source(name, **options)
    said = str(e.value)
    assert f"mask source {name!r} takes no {next(iter(options))}" in said, said
    assert said.endswith(f"(it takes {accepted})") and "\n" not in said, said
    with pytest.raises(UsageError, match=f"takes no {next(iter(options))}"):
        mlx_ifp.make_source(name, **options)  # the public name is the same function


def test_make_source_refuses_options_for_an_instance():
    with pytest.raises(UsageError, match=r"'griffin' \(an instance\) takes no bogus"):
        make_source(make_source("griffin"), bogus=1)


def test_make_source_takes_what_the_package_gives_every_source(tiny):
    """The tokenizer and the model's adapter folder go to every source (a plug-in may read
    them); an option left at None is not given (``path=None``)."""
    _, tok = tiny
    for name in ("griffin", "random", "full", "static", "static-act"):
        made = make_source(name, tokenizer=tok, adapter_path="run", path=None)
        assert made.key().startswith(name)
    instance = make_source("griffin")
    assert make_source(instance, tokenizer=tok, adapter_path=None) is instance
    mlx_ifp.register_source("s57-plug", lambda level=0, **_: make_source("griffin"))
    assert make_source("s57-plug", anything=1, tokenizer=tok).name == "griffin"  # its own


def test_export_with_an_mlx_lm_lora_folder_still_picks_by_griffin(lora_world, tmp_path):  # noqa: F811
    """The command line hands the --adapter folder to the named source (not an option of
    griffin's): `export --adapter LORA --mask-source griffin` runs as before."""
    folder, lora = lora_world
    args = ["--model", folder, "--adapter", lora, "--mask-source", "griffin", "--task", "t5 t6"]
    args += ["--keep", "0.5", "-o", tmp_path / "o"]
    run = CliRunner().invoke(app, ["export", *map(str, args)])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "o" / "config.json").is_file()
