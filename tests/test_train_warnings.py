"""Warnings while training: a validation loss running away from its best (diverging), masks
collapsing to one."""

import json
from pathlib import Path

import mlx_ifp  # noqa: F401  (first: the optimized BLAS before mlx.core)
from mlx_ifp.train import finetune
from mlx_ifp.train.objective import DIVERGING, DIVERGING_NATS, diverging

from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model

# validation KL to the dense model, steps 0, 25, 50, 75 of the twenty-fourth session's 1.5B
# lanes (docs/results/train_q15/): the static control diverged, the predictor only bumped
STATIC = [[0, 2.64, 1.302], [25, 2.35, 1.043], [50, 2.47, 1.287], [75, 8.39, 7.267]]
RW25 = [[0, 2.47, 1.052], [25, 2.14, 0.878], [50, 2.22, 1.010], [75, 2.22, 0.999]]


def test_diverging_flags_a_run_away_not_a_bump():
    assert diverging(STATIC[:1], 2) is None  # nothing to compare with yet
    assert diverging(STATIC[:3], 2) is None  # 1.287 against its best 1.043: a bump
    assert diverging(STATIC, 2) == (25, 1.043)  # 7.267: past DIVERGING x the best
    assert all(diverging(RW25[: i + 1], 2) is None for i in range(len(RW25)))
    assert diverging([[0, 1.0, 1.0], [5, 1.0, DIVERGING * 1.01]], 2) == (0, 1.0)
    assert diverging([[0, 1.0, 1.0], [5, 1.0, DIVERGING * 0.99]], 2) is None
    # a KL of 0 (the source itself at the start) that grows a little is not diverging
    assert diverging([[0, 1.0, 0.0], [5, 1.0, 0.05]], 2) is None
    assert diverging([[0, 1.0, 0.0], [5, 1.0, DIVERGING_NATS * 1.01]], 2) == (0, 0.0)
    # a reading that is not a number is a run gone wrong; it is never anyone's best
    nan = float("nan")
    assert diverging([[0, 1.0, 1.0], [5, 1.0, nan]], 2) == (0, 1.0)
    assert diverging([[0, 1.0, nan], [5, 1.0, 1.0], [9, 1.0, 4.0]], 2) == (5, 1.0)
    assert diverging([[0, 1.0, nan], [5, 1.0, nan]], 2) is None  # nothing to compare with


def run_with_readings(tmp_path, monkeypatch, capfd, readings, **kw) -> list[str]:
    """``finetune`` on the tiny model, validating every step with these (CE, KL) readings;
    the lines that say it is diverging."""
    import mlx_ifp.train.loop as loop

    readings = iter(readings)

    def scripted(*args, **kwargs):
        ce, kl = next(readings)
        return {"ce": ce, "kl": kl}

    monkeypatch.setattr(loop, "evaluate", scripted)
    data = make_data(tmp_path / "d")
    cfg = cfg_for(data, tmp_path / "o", iters=3, val_every=1, quiet=False, **kw)
    finetune(cfg, tiny_model("llama"), Tok())
    err = capfd.readouterr()
    return [x for x in (err.out + err.err).splitlines() if "diverging" in x]


def test_finetune_warns_when_validation_runs_away(tmp_path, monkeypatch, capfd):
    """The warning reaches the user, naming the metric trained on (KL when distilling)."""
    readings = [(2.0, 1.0), (2.1, 0.9), (2.2, 1.0), (6.0, 4.0), (6.0, 4.0)]
    lines = run_with_readings(tmp_path, monkeypatch, capfd, readings, distill=1.0, train="lora")
    assert len(lines) == 1, lines  # once: at step 3 (KL 4.0 against 0.9 at step 1), not before
    assert "KL to source rose to 4.0000 from its best, 0.9000 at step 1" in lines[0]
    assert "--learning-rate" in lines[0]


def test_without_distillation_the_warning_watches_ce(tmp_path, monkeypatch, capfd):
    """Trained on CE, a KL that runs away is not this run's loss; a CE that does is. A frozen
    LLM's run has only the predictor's rate to lower."""
    readings = [(2.0, 0.1), (1.9, 0.1), (2.0, 5.0), (4.0, 5.0)]
    lines = run_with_readings(tmp_path, monkeypatch, capfd, readings, distill=0.0, ce=1.0)
    assert len(lines) == 1, lines
    assert "CE rose to 4.0000 from its best, 1.9000 at step 1" in lines[0]
    assert "--predictor-lr" in lines[0] and "--learning-rate" not in lines[0]


def test_finetune_warns_when_masks_collapse_but_not_for_a_static_head(tmp_path, monkeypatch, capfd):
    """Cross-domain Jaccard over COLLAPSED: a warning for a predictor; a static mask is one mask."""
    import mlx_ifp.train.loop as loop
    from mlx_ifp.train.objective import COLLAPSED

    def probe(across):
        keys = ("jaccard_within", "jaccard_across", "score_std", "rank_std")
        return lambda *a, **k: dict(zip(keys, (1.0, across, 0.0, 0.0), strict=True))

    data = make_data(tmp_path / "d")
    valid = Path(data) / "valid.jsonl"  # the probe takes prompts of two domains from it
    rows = [json.loads(x) for x in valid.read_text().splitlines()]
    tagged = [json.dumps({**r, "domain": "ab"[i % 2]}) for i, r in enumerate(rows)]
    valid.write_text("\n".join(tagged) + "\n")
    for head, across, warned in [
        ("griffin", COLLAPSED + 0.01, True),
        ("griffin", COLLAPSED - 0.01, False),
        ("static", 1.0, False),
    ]:
        monkeypatch.setattr(loop, "measure", probe(across))
        out = tmp_path / f"o-{head}-{across}"
        pred = {"layers": 2, "rank": 8, "head": head}
        cfg = cfg_for(data, out, iters=1, val_every=1, quiet=False, predictor=pred)
        finetune(cfg, tiny_model("llama"), Tok())
        err = capfd.readouterr()
        assert ("collapsing" in err.out + err.err) == warned, (head, across)


def test_no_collapse_warning_before_the_first_step_and_no_kl_without_distillation(
    tmp_path, monkeypatch, capfd
):
    """The first validation (step 0) reads the untrained predictor: no collapse warning yet; a
    run without distillation prints no `KL to source 0.0000` (it computes none)."""
    import mlx_ifp.train.loop as loop
    from mlx_ifp.train.objective import COLLAPSED

    keys = ("jaccard_within", "jaccard_across", "score_std", "rank_std")
    stats = dict(zip(keys, (1.0, COLLAPSED + 0.01, 0.0, 0.0), strict=True))
    monkeypatch.setattr(loop, "measure", lambda *a, **k: stats)
    data = make_data(tmp_path / "d")
    valid = Path(data) / "valid.jsonl"
    rows = [json.loads(x) for x in valid.read_text().splitlines()]
    valid.write_text(
        "\n".join(json.dumps({**r, "domain": "ab"[i % 2]}) for i, r in enumerate(rows))
    )
    pred = {"layers": 2, "rank": 8, "head": "griffin"}
    cfg = cfg_for(data, tmp_path / "o", iters=1, val_every=1, quiet=False, predictor=pred)
    finetune(cfg, tiny_model("llama"), Tok())
    err = capfd.readouterr()
    text = err.out + err.err
    assert text.count("collapsing") == 1  # at step 1, not at step 0
    assert ("KL to source" in text) == bool(cfg.distill)
