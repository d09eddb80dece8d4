"""`end_weight` (fifty-ninth session): the distillation KL weighs more where the frozen source is
sure the reply ends (its end-of-turn tokens over half its probability), so the pruned model
learns to end replies where dense ends them (`docs/results/prefill_ended/`: the default misses
11 of 47 such endings at keep 0.5). The reported KL stays unweighted."""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.batches import Batches, load_data
from mlx_ifp.train.objective import Joint, end_weights, loss_sum

import mlx.core as mx
import numpy as np
import pytest
from test_finetune import Tok, cfg_for, make_data, setup
from tiny import tiny_model


def test_end_weights_mark_where_the_end_tokens_hold_over_half():
    V = 6
    # position 0: ids 2 and 5 together hold 0.8 (neither alone over half); 1: together 0.44;
    # 2: id 3 holds 0.9 (no end token)
    probs = np.full((3, V), 0.0)
    probs[0] = [0.04, 0.04, 0.4, 0.04, 0.08, 0.4]
    probs[1] = [0.14, 0.14, 0.4, 0.14, 0.14, 0.04]
    probs[2] = [0.02, 0.02, 0.02, 0.9, 0.02, 0.02]
    logits = mx.array(np.log(probs)[None], dtype=mx.float32)
    w = end_weights(logits, mx.array([2, 5], dtype=mx.int32), 4.0)
    assert w.tolist() == [[4.0, 1.0, 1.0]]
    assert end_weights(logits, mx.array([3], dtype=mx.int32), 2.5).tolist() == [[1.0, 1.0, 2.5]]


def test_end_weights_refuse_a_tokenizer_without_end_tokens():
    with pytest.raises(UsageError, match="names no end-of-turn token"):
        end_weights(mx.zeros((1, 2, 4)), mx.array([], dtype=mx.int32), 4.0)


def one_batch(tmp_path):
    data = make_data(tmp_path / "d")
    train, _, _ = load_data(data, Tok(), "sft", 32)
    return data, Batches(train, 4, 0, 32)(0)


def test_the_loss_weighs_only_the_ending_positions_and_the_reported_kl_not(tmp_path):
    data, batch = one_batch(tmp_path)
    joint, cfg, k = setup(data)
    cfg.ce, cfg.distill = 0.0, 1.0
    ends = lambda ids: Joint(joint.predictor, joint.llm, None, ids)  # noqa: E731
    V = joint.llm.args.vocab_size
    losses = {}
    for name, ids, weight in (
        ("plain", [1], 1.0),
        ("every", range(V), 4.0),  # every token ends: the source is sure everywhere
        ("none", [7], 4.0),  # one token of V: never over half under a random model
    ):
        cfg.end_weight = weight
        mx.random.seed(3)
        loss, n, _, kl = loss_sum(ends(list(ids)), batch, k, 0.5, cfg)
        losses[name] = (loss.item(), kl.item(), n.item())
    plain, every, none = losses["plain"], losses["every"], losses["none"]
    assert plain[0] > 0 and plain[0] == pytest.approx(plain[1], rel=1e-6)  # distill alone: KL
    assert every[0] == pytest.approx(4 * plain[0], rel=1e-5)
    assert none[0] == pytest.approx(plain[0], rel=1e-6)
    assert every[1] == pytest.approx(plain[1], rel=1e-6)  # the reported KL: unweighted
    assert every[2] == plain[2]


def test_end_weight_needs_distillation_and_a_number():
    with pytest.raises(UsageError, match="end_weight 4 weighs the KL to dense: needs distill"):
        load_config(None, end_weight=4.0)
    with pytest.raises(UsageError, match="end_weight must be a number >= 0"):
        load_config(None, end_weight=-1.0, distill=1.0)
    assert load_config(None, end_weight="4", distill=1.0).end_weight == 4.0  # YAML's text


def test_cli_refuses_end_weight_without_distill_in_one_line(tmp_path):
    from mlx_ifp.cli import app

    from typer.testing import CliRunner

    data = make_data(tmp_path / "d")
    run = CliRunner().invoke(app, ["finetune", "--data", data, "--end-weight", "4"])
    assert run.exit_code == 2, run.output
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs distill > 0" in lines[0], run.output


class EndTok(Tok):
    eos_token_ids = {3}


@pytest.mark.parametrize("compile", ["false", "true"])
def test_a_run_with_end_weight_trains_compiled_as_eager_and_records_it(tmp_path, compile):
    """A tokenizer's end ids reach the loss (a run with none is refused at its first step); the
    compiled step gives the eager step's losses; the run's settings keep the weight."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", distill=1.0, ce=0.0, iters=2, probe_prompts=0, end_weight=4.0)
    with pytest.raises(UsageError, match="names no end-of-turn token"):
        finetune(cfg_for(data, tmp_path / "no_ends", **kw), tiny_model("llama"), Tok())
    runs = {}
    for mode in ("false", compile):
        out = tmp_path / f"run_{mode}"
        if not out.exists():
            finetune(cfg_for(data, out, compile=mode, **kw), tiny_model("llama"), EndTok())
        state = json.loads((out / "trainer_state.json").read_text())
        runs[mode] = state["history"]
        assert state["config"]["end_weight"] == 4.0
    np.testing.assert_allclose(runs["false"], runs[compile], rtol=1e-4, atol=1e-5)
