"""Joint training on tiny random models: resume, distributed gradients, bad input, learning."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn
from mlx_ifp.core.mask import Budget
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.objective import Joint, gradients, prepare_llm

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_map
from tiny import tiny_model


class Tok:
    """Whitespace-separated integers; no chat template, no eos."""

    eos_token_id = None

    def encode(self, text, **kw):
        return [int(t) for t in text.split()]


def make_data(folder, n_train=24, n_valid=8, seed=0, text=False):
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("valid", n_valid)):
        with open(folder / f"{split}.jsonl", "w") as f:
            for _ in range(n):
                p = " ".join(map(str, rng.integers(2, 120, int(rng.integers(3, 9)))))
                c = " ".join(map(str, rng.integers(2, 120, int(rng.integers(2, 12)))))
                rec = {"text": p + " " + c} if text else {"prompt": p, "completion": c}
                f.write(json.dumps(rec) + "\n")
    return str(folder)


def cfg_for(data, out, **kw):
    base = dict(data=data, output=str(out), iters=4, batch_size=4, quiet=True)
    base.update(predictor=dict(layers=2, rank=8), val_every=0, max_seq_length=32)
    base.update(kw)
    return load_config(None, **base)


def setup(data, train="lora", stage="sft"):
    cfg = cfg_for(data, "/nonexistent", train=train, stage=stage, chunks=4)
    model = prepare_llm(tiny_model("llama"), cfg)
    mx.random.seed(0)
    pred = new_predictor(model, PredictorConfig(**cfg.predictor))
    return Joint(pred, model), cfg, Budget.parse(cfg.keep).channels(ffn.d_ffn(model))


def history(out):
    return json.loads((Path(out) / "trainer_state.json").read_text())["history"]


@pytest.mark.parametrize("train,stage", [("lora", "sft"), ("full", "pretrain")])
def test_resume_matches_straight_run(tmp_path, train, stage):
    data = make_data(tmp_path / "d", text=stage == "pretrain")
    kw = dict(train=train, stage=stage, warmup=4, eps_steps=6, lora_dropout=0.1)
    kw.update(distill=0.5 if stage == "sft" else 0.0)
    straight = finetune(cfg_for(data, tmp_path / "a", iters=6, **kw), tiny_model("llama"), Tok())
    finetune(cfg_for(data, tmp_path / "b", iters=3, **kw), tiny_model("llama"), Tok())
    resumed = finetune(
        cfg_for(data, tmp_path / "b", iters=6, resume=str(tmp_path / "b"), **kw),
        tiny_model("llama"),
        Tok(),
    )
    a, b = history(straight), history(resumed)
    assert len(a) == len(b) == 6
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(set(np.round(a, 6))) > 1  # the losses do move


def test_init_from_a_float16_pack_continues_the_run_at_start_step(tmp_path):
    """A step's loss depends on the weights, the data and eps at that step, not on the optimizer
    state: continuing a run's step-3 weights at step 3 repeats the straight run's 4th loss."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", warmup=2, eps_steps=6, lora_dropout=0.1, distill=0.5)
    straight = finetune(cfg_for(data, tmp_path / "a", iters=6, **kw), tiny_model("llama"), Tok())
    part = finetune(cfg_for(data, tmp_path / "b", iters=3, **kw), tiny_model("llama"), Tok())
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from pack_run import half

    pack = tmp_path / "pack"  # as the package ships a run: float16 weights, no trainer state
    pack.mkdir()
    for f in ("predictor.safetensors", "adapters.safetensors"):
        (pack / f).write_bytes(half(part / f))
    for f in ("ifp_config.json", "adapter_config.json"):
        (pack / f).write_text((part / f).read_text())
    cont = cfg_for(data, tmp_path / "c", iters=6, init_from=str(pack), start_step=3, **kw)
    out = finetune(cont, tiny_model("llama"), Tok())
    a, c = history(straight), history(out)
    assert len(c) == 3  # steps 4..6
    np.testing.assert_allclose(c[0], a[3], rtol=2e-3)  # float16 weights: close, not exact
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 6
    assert {v.dtype for v in mx.load(str(out / "adapters.safetensors")).values()} == {mx.float32}
    with pytest.raises(UsageError, match="start_step"):
        cfg_for(data, tmp_path / "e", iters=6, start_step=3)  # nothing to continue
    with pytest.raises(UsageError, match="start_step"):
        cfg_for(data, tmp_path / "e", iters=3, init_from=str(pack), start_step=3)
    with pytest.raises(UsageError, match="trained to keep"):
        finetune(
            cfg_for(data, tmp_path / "e", init_from=str(pack), keep="4"), tiny_model("llama"), Tok()
        )


def test_a_continued_run_resumes_like_a_straight_continuation(tmp_path):
    """A continued run (--init-from + start_step) stopped early resumes from its checkpoint
    (whose config carries start_step) and repeats the straight continuation's losses."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", warmup=2, eps_steps=8, lora_dropout=0.1, distill=0.5)
    first = finetune(cfg_for(data, tmp_path / "a", iters=3, **kw), tiny_model("llama"), Tok())
    cont = dict(init_from=str(first), start_step=3, **kw)
    straight = finetune(cfg_for(data, tmp_path / "s", iters=7, **cont), tiny_model("llama"), Tok())
    finetune(cfg_for(data, tmp_path / "p", iters=5, **cont), tiny_model("llama"), Tok())
    resumed = cfg_for(data, tmp_path / "p", iters=7, resume=str(tmp_path / "p"), **cont)
    a, b = history(straight), history(finetune(resumed, tiny_model("llama"), Tok()))
    assert len(a) == len(b) == 4  # steps 4..7
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("stage", ["sft", "sft-repick", "sft-end"])
def test_distributed_gradients_equal_the_combined_batch(tmp_path, stage):
    data = make_data(tmp_path / "d")
    out = tmp_path / "grads.safetensors"
    here = Path(__file__).parent
    # two ranks on two cores: one BLAS thread each, or their spinning threads oversubscribe
    env = {**os.environ, "PYTHONPATH": f"{here}:{here.parent}", "OPENBLAS_NUM_THREADS": "1"}
    launch = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", launch, "--backend", "ring", "-n", "2"]
    cmd += ["--python", sys.executable, str(here / "dist_grads.py"), str(out), data, stage]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and out.is_file(), r.stdout[-2000:] + r.stderr[-2000:]
    g = mx.load(str(out))
    assert g["world"].item() == 2
    names = [n[len("split.") :] for n in g if n.startswith("split.")]
    assert any("predictor" in n for n in names) and any("lora" in n for n in names)
    for n in names:
        np.testing.assert_allclose(g[f"split.{n}"], g[f"whole.{n}"], rtol=1e-4, atol=1e-6)
    assert abs(g["loss_split"].item() - g["loss_whole"].item()) < 1e-5


def test_gradient_checkpointing_gives_the_same_gradients(tmp_path):
    from mlx_ifp.train.batches import Batches, load_data
    from mlx_ifp.train.objective import checkpoint_layers

    from mlx.utils import tree_flatten

    data = make_data(tmp_path / "d")
    joint, cfg, k = setup(data, train="lora")
    train, _, _ = load_data(data, Tok(), "sft", 32)
    batch = Batches(train, 4)(0)
    ref, _, _ = gradients(joint, [batch], k, 0.5, cfg)
    checkpoint_layers(joint.llm)
    got, _, _ = gradients(joint, [batch], k, 0.5, cfg)
    for (n, a), (_, b) in zip(tree_flatten(ref), tree_flatten(got), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=n)


def test_bad_inputs(tmp_path):
    data = Path(make_data(tmp_path / "d"))
    with pytest.raises(UsageError, match="unknown config key.*lerning_rate"):
        load_config(None, lerning_rate=1.0)
    cfgfile = tmp_path / "c.yaml"
    cfgfile.write_text("iters: 3\nbogus: 1\n")
    with pytest.raises(UsageError, match="bogus"):
        load_config(cfgfile)
    with pytest.raises(UsageError, match="predictor config key"):
        load_config(None, predictor={"layerz": 2})
    lines = (data / "train.jsonl").read_text().splitlines()
    lines[4] = '{"prompt": "1 2", "completion": '
    (data / "train.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=r"train\.jsonl, line 5"):
        finetune(cfg_for(str(data), tmp_path / "o"), tiny_model("llama"), Tok())
    (data / "train.jsonl").write_text("")
    with pytest.raises(UsageError, match="no training examples"):
        finetune(cfg_for(str(data), tmp_path / "o"), tiny_model("llama"), Tok())
    text = make_data(tmp_path / "t", text=True)
    with pytest.raises(UsageError, match="line 1: stage 2"):
        finetune(cfg_for(text, tmp_path / "o"), tiny_model("llama"), Tok())


def test_long_sequences_are_truncated_with_a_warning(tmp_path, capsys):
    data = tmp_path / "d"
    data.mkdir()
    long = {"prompt": " ".join(["5"] * 10), "completion": " ".join(["7"] * 40)}
    (data / "train.jsonl").write_text((json.dumps(long) + "\n") * 4)
    out = finetune(cfg_for(str(data), tmp_path / "o", iters=1), tiny_model("llama"), Tok())
    assert "truncated" in capsys.readouterr().err
    assert len(history(out)) == 1


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    data = make_data(tmp_path / "d")
    out = tmp_path / "o"
    finetune(cfg_for(data, out, iters=2, save_every=2), tiny_model("llama"), Tok())
    before = (out / "predictor.safetensors").read_bytes()
    model = tiny_model("llama")
    model.lm_head.weight = model.lm_head.weight * float("nan")
    cfg = cfg_for(data, out, iters=4, resume=str(out))
    with pytest.raises(UsageError, match=r"loss is nan at step 3.*step 2"):
        finetune(cfg, model, Tok())
    assert (out / "predictor.safetensors").read_bytes() == before
    assert len(history(out)) == 2


def test_hard_st_masks_forward_hard_backward_softtopk():
    from mlx_ifp.core.mask import soft_topk, topk_indicator
    from mlx_ifp.train.objective import make_masks

    s = mx.random.normal((2, 3, 16), key=mx.random.key(1))
    w = mx.random.normal(s.shape, key=mx.random.key(2))
    m = make_masks(s, 5, 0.3, "hard_st", hard=False)
    assert mx.array_equal(m, topk_indicator(s, 5)).item()
    g = mx.grad(lambda x: (make_masks(x, 5, 0.3, "hard_st", hard=False) * w).sum())(s)
    ref = mx.grad(lambda x: (soft_topk(x, 5, 0.3) * w).sum())(s)
    assert mx.allclose(g, ref, atol=1e-6).item()
    assert (mx.abs(g) * (1 - m)).sum().item() > 0  # dropped channels get a gradient too
    with pytest.raises(UsageError):
        load_config(None, mask_forward="hard")


@pytest.mark.parametrize("stage,train", [("sft", "lora"), ("pretrain", "lora"), ("sft", "full")])
def test_compiled_step_equals_eager_griffin_head(tmp_path, stage, train):
    """The compiled step (each of two micro-batches, then the update) gives the eager step's
    losses; with full training the frozen teacher (not a child of the joint module) is captured
    too."""
    data = make_data(tmp_path / "d", text=stage == "pretrain")
    kw = dict(train=train, stage=stage, chunks=4, distill=1.0, ce=0.5, grad_accumulation=2)
    kw.update(predictor=dict(head="griffin", factor_rank=4), iters=3, probe_prompts=0)
    eager = finetune(
        cfg_for(data, tmp_path / "e", compile="false", **kw), tiny_model("llama"), Tok()
    )
    comp = finetune(cfg_for(data, tmp_path / "c", compile="true", **kw), tiny_model("llama"), Tok())
    a, b = history(eager), history(comp)
    assert len(a) == 3 and all(math.isfinite(x) for x in a)
    assert np.allclose(a, b, rtol=1e-4, atol=1e-5), (a, b)


def test_stage1_chunks_come_from_the_configuration(tmp_path):
    """Any batch is max_seq_length wide in stage 1, so chunk j always spans the same positions."""
    from mlx_ifp.train.batches import Batches, load_data
    from mlx_ifp.train.objective import chunk_groups

    data = make_data(tmp_path / "d", text=True)
    train, _, _ = load_data(data, Tok(), "pretrain", 32)
    for bs in (2, 4):
        batch = Batches(train, bs, 0, 32)(0)
        assert batch.tokens.shape[1] == 33
        groups = chunk_groups(batch, 4, 8)
        first = np.asarray(groups[0]).astype(int)
        assert first.shape == (3, 32)
        for j in range(3):
            assert not first[j, : 8 * j].any() and not first[j, 8 * (j + 1) :].any()
    with pytest.raises(UsageError, match="multiple of chunks"):
        cfg_for(data, tmp_path / "x", stage="pretrain", chunks=3, max_seq_length=32)


def test_stage2_repick_masks_read_the_text_before_each_segment(tmp_path):
    """repick: N runs, at each position, the mask of the prompt and the response before its
    segment of N response tokens, as generation re-picks. Reference: each segment's mask from
    its own truncated text, one position at a time."""
    from mlx_ifp.core.mask import topk_indicator
    from mlx_ifp.sources.predictor.model import griffin_features
    from mlx_ifp.train.batches import Batches, load_data
    from mlx_ifp.train.objective import forward

    data = make_data(tmp_path / "d")
    joint, cfg, k = setup(data)
    cfg.predictor = dict(head="griffin", route="reweight", shared=0.25)
    mx.random.seed(1)
    joint.predictor = new_predictor(joint.llm, PredictorConfig(**cfg.predictor))
    noise = tree_map(lambda a: mx.random.normal(a.shape), joint.predictor.parameters())
    joint.predictor.update(noise)  # learned gains and offsets that change the ranking
    train, _, _ = load_data(data, Tok(), "sft", 32)
    batch = Batches(train, 4, 0, 32)(0)
    n, T = 3, batch.tokens.shape[1] - 1
    cfg.repick = n
    logits = forward(joint, batch, k, 1.0, cfg, hard=True)[0]
    cfg.repick = 0
    single = forward(joint, batch, k, 1.0, cfg, hard=True)[0]
    L, d = len(ffn.layers(joint.llm)), ffn.d_ffn(joint.llm)
    for b in range(4):
        o, length = int(batch.offsets[b]), int(batch.lengths[b])
        rows = []
        for p in range(T):
            end = min(o + max(0, p - o + 1) // n * n, length)
            z = griffin_features(joint.llm, batch.tokens[b : b + 1, :end])
            rows.append(topk_indicator(joint.predictor.from_griffin(z), k)[0])  # (L, d)
        masks = mx.stack(rows, axis=1)[None]  # (1, L, T, d)
        assert masks.shape == (1, L, T, d)
        with ffn.masked(joint.llm, masks):
            ref = joint.llm(batch.tokens[b : b + 1, :-1])
        scored = slice(o - 1, length - 1)
        assert mx.allclose(logits[b, scored], ref[0, scored], atol=1e-4).item()
        if length - o > n:  # a later segment's mask differs from the prompt's
            assert not mx.allclose(logits[b, scored], single[b, scored], atol=1e-4).item()
    cfg.repick, cfg.repick_share, cfg.batch_size = n, 0.5, 4  # rows 0-1 re-pick, 2-3 do not
    mixed = forward(joint, batch, k, 1.0, cfg, hard=True)[0]
    assert mx.allclose(mixed[:2], logits[:2], atol=1e-4).item()
    assert mx.allclose(mixed[2:], single[2:], atol=1e-4).item()
    with pytest.raises(UsageError, match="repick"):
        cfg_for(data, tmp_path / "x", repick=4)  # the default head reads no GRIFFIN statistics
    with pytest.raises(UsageError, match="repick_share"):
        cfg_for(data, tmp_path / "y", repick_share=1.5)
    with pytest.raises(UsageError, match="needs --repick"):
        cfg_for(data, tmp_path / "z", repick_share=0.5)  # no repick: the share would do nothing


@pytest.mark.parametrize("route,repick", [("griffin", 0), ("reweight", 0), ("reweight", 3)])
def test_griffin_routes_train_the_prior_and_compile(tmp_path, route, repick):
    """route: griffin / reweight (also re-picked every 3 response tokens): the compiled step
    equals the eager one and every learned array moves (reweight: the routed part's gain and
    offset too)."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", stage="sft", distill=1.0, ce=0.0, iters=3, probe_prompts=0)
    kw.update(repick=repick)
    kw.update(predictor=dict(head="griffin", route=route, shared=0.5), predictor_lr=0.1)
    runs = {}
    for mode in ("false", "true"):
        out = tmp_path / mode
        finetune(cfg_for(data, out, compile=mode, **kw), tiny_model("llama"), Tok())
        runs[mode] = history(out)
    assert np.allclose(runs["false"], runs["true"], rtol=1e-4, atol=1e-5), runs
    saved = mx.load(str(tmp_path / "true" / "predictor.safetensors"))
    assert set(saved) == ({"bias"} if route == "griffin" else {"bias", "log_gain", "offset"})
    for name, moved in saved.items():
        assert float(mx.abs(moved).max()) > 0, name  # each starts at zeros


def test_stage1_packing_keeps_every_token_in_order_in_full_rows(tmp_path):
    """Packed, the texts (each with its EOS) run on end to end: every row but the last is
    max_seq_length + 1 wide, and nothing of a long text is cut away."""
    from mlx_ifp.train.batches import load_data

    data = tmp_path / "d"
    data.mkdir()
    texts = [" ".join(str(3 + (i * 7 + j) % 90) for j in range(5 + 13 * i)) for i in range(6)]
    (data / "train.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    (data / "valid.jsonl").write_text(json.dumps({"text": texts[0]}) + "\n")

    class EosTok(Tok):
        eos_token_id = 1

    train, valid, _ = load_data(data, EosTok(), "pretrain", 16, packed=True)
    flat = [t for s in texts for t in [*map(int, s.split()), 1]]
    assert [t for e in train for t in e.tokens] == flat
    assert all(len(e.tokens) == 17 for e in train[:-1]) and len(train) == -(-len(flat) // 17)
    assert [len(e.tokens) for e in valid] == [6]  # validation rows are not packed
    with pytest.raises(UsageError, match="stage 1"):
        load_data(make_data(tmp_path / "s"), Tok(), "sft", 16, packed=True)


def test_tokens_seen_counts_the_inputs_and_scored_tokens_exclude_the_first_chunk(tmp_path):
    data = Path(make_data(tmp_path / "d", text=True))
    line = json.dumps({"text": " ".join(["9"] * 8)}) + "\n"
    (data / "train.jsonl").write_text(line * 33)  # 264 tokens: 8 packed rows of 33
    cfg = cfg_for(str(data), tmp_path / "o", stage="pretrain", chunks=4, pack=True, iters=2)
    out = finetune(cfg, tiny_model("llama"), Tok())
    run = json.loads((Path(out) / "trainer_state.json").read_text())["run"]
    # packed rows are full: 32 inputs each; scored are the targets from position c = 8 on
    # (those of chunk 0's inputs run dense: no mask to learn), 25 of them
    assert run["tokens_seen"] == 2 * 4 * 32 and run["tokens"] == 2 * 4 * 25


def test_predictor_prompts_are_padded_to_the_shape_multiple():
    from mlx_ifp.train.batches import Example, collate

    b = collate([Example([5] * 12, 4, [5, 6, 7]), Example([5] * 9, 3, [5] * 10)], 8)
    assert b.prompt.shape == (2, 16) and b.prompt_lengths.tolist() == [3, 10]
    assert collate([Example([5] * 4, 0, [])], 8).prompt.shape == (1, 1)


@pytest.mark.parametrize("name", ["finetune_sft", "ifp_stage1", "ifp_stage2"])
def test_example_recipes_load(name):
    """The shipped recipes parse: every key is a setting (a typo would be refused)."""
    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "examples" / f"{name}.yaml")
    assert cfg.stage in ("pretrain", "sft") and cfg.iters > 0
    if name == "ifp_stage1":
        assert cfg.pack and cfg.stage == "pretrain"


def test_anchor_holds_the_unpruned_lora_near_the_source(tmp_path):
    """`anchor`: the LoRA'd model with nothing pruned is also distilled to the source, so after
    the same steps it has drifted less from the source on held-out replies than without the
    term; it needs a trained LLM and a teacher."""
    from mlx_ifp.core.ffn import lora_disabled
    from mlx_ifp.train.batches import collate, load_data
    from mlx_ifp.train.objective import kl_to

    data = make_data(tmp_path / "d")
    b = collate(load_data(data, Tok(), "sft", 32)[1])  # the validation split, not trained on
    x, steps = b.tokens[:, :-1], mx.arange(1, b.tokens.shape[1])[None]
    w = ((steps < b.lengths[:, None]) & (steps >= b.offsets[:, None])).astype(mx.float32)
    drift = {}
    for anchor in (0.0, 4.0):
        model = tiny_model("llama")
        kw = dict(train="lora", distill=1.0, ce=0.0, learning_rate=3e-4, iters=40, anchor=anchor)
        finetune(cfg_for(data, tmp_path / f"a{anchor}", lora_scale=2.0, **kw), model, Tok())
        with lora_disabled(model):
            source = model(x)
        drift[anchor] = ((kl_to(source, model(x)) * w).sum() / w.sum()).item()
    assert drift[0.0] > 1e-3, drift  # the LoRA did move the unpruned model
    assert drift[4.0] < 0.3 * drift[0.0], drift
    for bad in (dict(train="frozen", distill=1.0), dict(train="lora", distill=0.0)):
        with pytest.raises(UsageError, match="anchor needs"):
            cfg_for(data, tmp_path / "x", anchor=1.0, **bad)
