"""What the CLI shows: progress lines when output is not a terminal (data build, eval, finetune),
the finetune defaults in --help, convert's --dequantize help, eval's domains without prose."""

import json

import mlx_ifp
from mlx_ifp import common
from mlx_ifp.cli import app
from mlx_ifp.cli.finetune import shown
from mlx_ifp.data import corpus as data
from mlx_ifp.train import FinetuneConfig

import pytest
import typer
from corpus import ByteTokenizer, fake_sources
from test_finetune import Tok, make_data
from tiny import tiny_model
from typer.testing import CliRunner


def invoke(*args: str, code: int = 0):
    """Run the CLI in-process; CliRunner captures stdout and stderr: neither is a terminal."""
    run = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert run.exit_code == code, run.output
    return run


def lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


# ---------------------------------------------------------------- the shared progress display


def test_plain_lines_every_tenth_and_a_final_line(capsys):
    with common.Progress("job", 100, unit="item", every_s=1e9, bar=False) as bar:
        for i in range(100):
            bar.advance(1, (f"n {i}",))
    out = lines(capsys.readouterr().err, "job: ")
    tenths = [f"job: item {n}/100" for n in range(10, 100, 10)]
    assert [x.split(",")[0] for x in out] == [*tenths, "job: finished"]
    assert out[-1].startswith("job: finished, item 100/100, n 99, ")
    assert out[-1].endswith(" elapsed")


def test_a_stopped_run_says_where_and_quiet_says_nothing(capsys):
    with pytest.raises(KeyboardInterrupt):
        with common.Progress("job", 10, unit="step", bar=False) as bar:
            bar.advance()
            raise KeyboardInterrupt
    assert lines(capsys.readouterr().err, "job: ")[-1].startswith("job: stopped at step 1/10, ")
    with common.Progress("job", 10, enabled=False, bar=False) as bar:
        bar.advance()
        bar.note("hidden")
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_the_bar_not_plain_lines(monkeypatch, capsys):
    monkeypatch.setattr(common, "interactive", lambda: True)
    with common.Progress("job", 3, every_s=0) as bar:
        assert bar.bar is not None
        for _ in range(3):
            bar.advance()
    assert not lines(capsys.readouterr().err, "job: ")


# ---------------------------------------------------------------- each command, output captured


def test_data_build_prints_progress_lines(tmp_path, monkeypatch):
    fake_sources(tmp_path / "src", monkeypatch)
    run = invoke("data", "build", "-o", str(tmp_path / "corpus"))
    out = lines(run.stderr, "data build: ")
    assert out[0].startswith("data build: source 1/6, gsm8k 30 records, ")
    assert out[-1].startswith("data build: finished, source 6/6, ")
    assert all(x.endswith(" elapsed") for x in out)
    assert run.stdout.strip().endswith("corpus")


def test_finetune_prints_progress_lines(tmp_path, monkeypatch):
    config = tmp_path / "run.yaml"
    settings = dict(data=make_data(tmp_path / "d"), output=str(tmp_path / "out"), iters=4)
    settings.update(batch_size=4, val_every=0, max_seq_length=32)
    settings.update(predictor={"layers": 2, "rank": 8})
    config.write_text(json.dumps(settings))  # JSON is YAML
    monkeypatch.setattr(mlx_ifp.models, "load", lambda *a, **k: (tiny_model("llama"), Tok()))
    run = invoke("finetune", "-c", str(config))
    out = lines(run.stderr, "finetune: ")
    assert [x.split(",")[0] for x in out] == [
        "finetune: step 1/4",
        "finetune: step 2/4",
        "finetune: step 3/4",
        "finetune: finished",
    ]
    assert out[-1].startswith("finetune: finished, step 4/4, loss ")
    assert all(" tok/s, " in x and x.endswith(" elapsed") for x in out)
    assert "Saved the predictor to" in run.stdout  # a frozen LLM: no adapters were written


def test_eval_without_prose_skips_it_by_default_and_refuses_it_by_name(tmp_path, monkeypatch):
    """pip only: no Debian prose packages, so the corpus has no prose domain at all."""
    fake_sources(tmp_path / "src", monkeypatch)
    monkeypatch.setattr(data, "FORTUNES", tmp_path / "absent")
    folder = data.build(tmp_path / "corpus", verbose=False)
    assert not (folder / "domains" / "prose").exists()
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), ByteTokenizer()))
    report = tmp_path / "report.json"
    args = ["eval", "--data", str(folder), "--mask-sources", "full,random", "--keep", "0.5"]
    args += ["--modes", "input", "--limit", "2", "--gen-limit", "0"]
    run = invoke(*args, "-o", str(report))
    (warning,) = lines(run.stderr, "Warning: ")
    assert warning.startswith(f"Warning: skipping domain(s) prose: no test items in {folder}")
    rows = json.loads(report.read_text())
    assert rows["config"]["domains"] == ["math", "code", "science", "general"]
    assert {r["domain"] for r in rows["results"]} == {"math", "code", "science", "general"}
    out = lines(run.stderr, "eval: ")  # 2 sources x 4 domains
    assert out[0].startswith("eval: 1/8, math: full ")
    assert out[-1].startswith("eval: finished, 8/8, ")
    run = invoke(*args, "--domains", "math,prose", code=2)
    assert "no test split for domain 'prose'" in run.stderr
    assert not lines(run.stderr, "Warning: ")


# ---------------------------------------------------------------- help texts


def test_finetune_help_shows_the_config_defaults():
    text = invoke("finetune", "--help").stdout
    assert f"(default: {FinetuneConfig.learning_rate:g})" in text  # 0.0001, from the dataclass
    assert f"(default: {FinetuneConfig.iters})" in text
    command = typer.main.get_command(app).commands["finetune"]
    defaults = vars(FinetuneConfig())
    checked = 0
    for param in command.params:
        value = defaults.get(param.name)
        if param.name != "help" and value not in (None, ""):
            assert param.help.endswith(f"(default: {shown(value)})"), param.name
            assert param.default is None, param.name  # the config decides, not typer
            checked += 1
    assert checked >= 20


#: Settings only a --config YAML gives (structured, or rarely changed); every other one has a flag.
YAML_ONLY = {"predictor", "lora_keys", "lora_scale", "lora_dropout", "weight_decay"}
YAML_ONLY |= {"max_grad_norm", "eps_schedule", "probe_prompts", "quiet"}
YAML_ONLY |= {"prompt_feature", "completion_feature", "chat_feature", "text_feature"}  # mlx_lm's


def test_every_finetune_setting_has_a_flag_or_is_yaml_only():
    """A new FinetuneConfig field gets a flag or a place in YAML_ONLY (eps_steps once had
    neither, and a GPU run failed on --eps-steps)."""
    import dataclasses

    command = typer.main.get_command(app).commands["finetune"]
    flags = {p.name for p in command.params}
    fields = {f.name for f in dataclasses.fields(FinetuneConfig)}
    assert fields - flags == YAML_ONLY
    assert "eps_steps" in flags


def test_convert_help_states_the_dequantize_default_once():
    for name in ("convert", "export"):
        text = invoke(name, "--help").stdout
        row = text[text.index("--dequantize") :].split("--help")[0]
        assert row.count("default") == 1 and "[default: no-dequantize]" in row


def test_repick_help_states_the_default_the_library_uses():
    from mlx_ifp.inference.generation import DEFAULT_REPICK

    for name in ("generate", "serve"):
        param = next(
            p for p in typer.main.get_command(app).commands[name].params if p.name == "repick"
        )
        assert f"Default: {DEFAULT_REPICK} with " in param.help, name  # the value it uses
