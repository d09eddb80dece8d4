"""``task_share``: a share of each stage-2 batch runs per-task masks, the mean of the scores of
the batch's other prompts of the same domain, as a task's mask is made at inference."""

from __future__ import annotations

import json

from mlx_ifp.core import UsageError, ffn
from mlx_ifp.core.mask import topk_indicator
from mlx_ifp.train import finetune
from mlx_ifp.train.batches import collate, domain_id, load_data
from mlx_ifp.train.objective import forward, task_scores

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_map
from test_finetune import Tok, cfg_for, history, setup
from tiny import tiny_model

DOMAINS = ["math", "math", "math", "code", "code", None, "math", "code"]


def domain_data(folder, n_valid=4):
    """Eight training records with the ``DOMAINS`` above (None: no domain), and a validation
    split, in a folder."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True)
    for split, n in (("train", len(DOMAINS)), ("valid", n_valid)):
        with open(folder / f"{split}.jsonl", "w") as f:
            for i in range(n):
                p = " ".join(map(str, rng.integers(2, 120, int(rng.integers(3, 9)))))
                c = " ".join(map(str, rng.integers(2, 120, int(rng.integers(4, 12)))))
                rec = {"prompt": p, "completion": c}
                if DOMAINS[i % len(DOMAINS)]:
                    rec["domain"] = DOMAINS[i % len(DOMAINS)]
                f.write(json.dumps(rec) + "\n")
    return str(folder)


def test_domains_are_read_as_stable_ids():
    assert domain_id("math") == domain_id("math") != domain_id("code")
    assert domain_id(None) == domain_id("") == -1 and domain_id("math") >= 0


def test_task_rows_run_the_mean_of_their_domains_other_prompts(tmp_path):
    """task_share 0.5 of a batch of 8: rows 4-7 run the mean of their domain's other rows'
    scores (row 5 has no domain: its own), checked against masks built one prompt at a time;
    rows 0-3 run their own masks."""
    data = domain_data(tmp_path / "d")
    joint, cfg, k = setup(data)
    mx.random.seed(1)  # learned weights that make each prompt's mask its own
    noise = tree_map(lambda a: mx.random.normal(a.shape), joint.predictor.parameters())
    joint.predictor.update(noise)
    train, _, _ = load_data(data, Tok(), "sft", 32)
    batch = collate(train)
    assert batch.domains.tolist() == [domain_id(d) for d in DOMAINS]
    cfg.batch_size = 8
    plain = forward(joint, batch, k, 1.0, cfg, hard=True)[0]
    cfg.task_share = 0.5
    logits = forward(joint, batch, k, 1.0, cfg, hard=True)[0]
    own = [joint.predictor(mx.array([e.prompt], dtype=mx.int32))[0] for e in train]
    donors = {4: [3, 7], 6: [0, 1, 2], 7: [3, 4]}  # row 5 has no domain: its own mask
    for b in range(8):
        o, n = train[b].offset, len(train[b].tokens)
        scored = slice(o - 1, n - 1)
        if b not in donors:
            assert mx.allclose(logits[b, scored], plain[b, scored], atol=1e-4).item(), b
            continue
        mask = topk_indicator(sum(own[j] for j in donors[b]) / len(donors[b]), k)
        with ffn.masked(joint.llm, mask[None]):
            ref = joint.llm(batch.tokens[b : b + 1, :-1])
        assert mx.allclose(logits[b, scored], ref[0, scored], atol=1e-4).item(), b
        assert not mx.allclose(logits[b, scored], plain[b, scored], atol=1e-4).item(), b


def test_task_scores_leave_rows_without_a_match_and_other_groups_alone():
    s = mx.arange(4 * 2 * 1 * 3, dtype=mx.float32).reshape(8, 1, 3)  # B = 4 rows, G = 2 groups
    out = task_scores(s, mx.array([-1, -1, 5, 5]), mx.array([True, True, True, False]))
    by_row = out.reshape(4, 2, 1, 3)
    assert mx.array_equal(by_row[:2], s.reshape(4, 2, 1, 3)[:2]).item()  # no domain: unchanged
    assert mx.array_equal(by_row[2, 0], s.reshape(4, 2, 1, 3)[3, 0]).item()  # row 3's group 0
    assert mx.array_equal(by_row[2, 1], s.reshape(4, 2, 1, 3)[2, 1]).item()  # later groups kept
    assert mx.array_equal(by_row[3], s.reshape(4, 2, 1, 3)[3]).item()  # not a task row


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(task_share=1.5), "task_share"),
        (dict(task_share=-0.5), "task_share"),
        (dict(task_share=0.1), "task_share"),  # rounds to no row of 4
        (dict(task_share=0.5, stage="pretrain", chunks=4), "stage 2"),
        (
            dict(task_share=0.5, repick=4, repick_share=0.75, predictor=dict(head="griffin")),
            "1 to 1 of the 4 rows",
        ),
    ],
)
def test_task_share_is_refused_where_it_cannot_run(tmp_path, kw, match):
    with pytest.raises(UsageError, match=match):
        cfg_for(domain_data(tmp_path / "d"), tmp_path / "o", **kw)


def test_task_share_without_domains_warns(tmp_path, capsys):
    from test_finetune import make_data

    cfg = cfg_for(make_data(tmp_path / "d"), tmp_path / "o", iters=1, task_share=0.5)
    finetune(cfg, tiny_model("llama"), Tok())
    assert "no training record has a 'domain'" in capsys.readouterr().err


def test_task_rows_train_the_same_compiled_or_not(tmp_path):
    data = domain_data(tmp_path / "d")
    kw = dict(train="lora", distill=1.0, iters=3, batch_size=4, task_share=0.5, probe_prompts=0)
    runs = {}
    for mode in ("false", "true"):
        finetune(cfg_for(data, tmp_path / mode, compile=mode, **kw), tiny_model("llama"), Tok())
        runs[mode] = history(tmp_path / mode)
    assert np.allclose(runs["false"], runs["true"], rtol=1e-4, atol=1e-5), runs
