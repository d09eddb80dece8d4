"""The predictor (+ LoRA) shipped for the embedded model: present, small, tied to its model."""

from pathlib import Path

import mlx_ifp
from mlx_ifp.common import UsageError
from mlx_ifp.models.embedded import default_adapter
from mlx_ifp.sources.predictor import read_config

import pytest
from tiny import tiny_model

SHIPPED = default_adapter("smollm2-135m-instruct")


def test_shipped_files_are_small_and_complete():
    """The default (keep 0.5) and the keep-0.33 predictor for one source model, each with its
    LoRA 25 MB at most (the issue's bound for a trained predictor and its LoRA)."""
    from mlx_ifp.models.embedded import shipped_adapters

    folders = shipped_adapters("smollm2-135m-instruct")
    assert folders[0] == SHIPPED and [f.name for f in folders[1:]] == [
        "smollm2-135m-instruct-k0.33"
    ]
    for folder in folders:
        names = {p.name for p in folder.iterdir()}
        assert {"predictor.safetensors", "ifp_config.json", "adapters.safetensors"} <= names
    for folder in folders:
        assert sum(p.stat().st_size for p in folder.iterdir()) <= 25 * 10**6, folder
    cfgs = [read_config(f) for f in folders]
    assert [c["k"] for c in cfgs] == [768, 507]
    assert all(c["predictor"]["head"] == "griffin" for c in cfgs)
    assert cfgs[0]["source"] == cfgs[1]["source"]


def test_the_shipped_adapter_nearest_the_budget_is_chosen(tmp_path, monkeypatch):
    """weights/<name> is the default (keep 0.5); weights/<name>-k<keep> serve budgets nearer
    their own channel count; a tie, or no budget, keeps the default."""
    import json

    from mlx_ifp.models import embedded

    def ship(folder: str, k: int):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "predictor.safetensors").write_bytes(b"")
        (tmp_path / folder / "ifp_config.json").write_text(json.dumps({"k": k, "d_ffn": 1536}))

    def pick(keep, name="m"):
        return default_adapter(name, None if keep is None else mlx_ifp.Budget.parse(keep)).name

    monkeypatch.setattr(embedded, "WEIGHTS", tmp_path)
    monkeypatch.setattr(embedded, "is_embedded", lambda name: name in ("m", "t"))  # pretend
    assert default_adapter("m") is None
    ship("m", 768)
    assert pick(0.33) == "m"  # the only one serves every budget
    ship("m-k0.33", 507)
    (tmp_path / "m-k0.2").mkdir()  # no predictor in it: not shipped
    (tmp_path / "other-k0.33").mkdir()
    # full width, as a fraction or as a channel count: nothing shipped, the source model as it is
    assert [default_adapter("m", mlx_ifp.Budget.parse(k)) for k in (1.0, 1536)] == [None, None]
    picks = {keep: pick(keep) for keep in (None, 0.5, 0.45, 0.4, 0.33, "300")}
    assert picks == {
        None: "m",
        0.5: "m",
        0.45: "m",
        0.4: "m-k0.33",
        0.33: "m-k0.33",
        "300": "m-k0.33",
    }
    ship("t", 768)
    ship("t-k0.33", 506)
    assert pick("637", "t") == "t" and pick("636", "t") == "t-k0.33"  # 131 from both: a tie
    assert [f.name for f in embedded.shipped_adapters("m")] == ["m", "m-k0.33"]


def test_shipped_predictor_refuses_another_model():
    source = mlx_ifp.make_source("predictor", path=str(SHIPPED))
    with pytest.raises(UsageError, match="another model"):
        source.select(tiny_model("llama"), [1, 2, 3], 8)


@pytest.mark.real
def test_shipped_predictor_serves_the_embedded_model(smollm2_dir):
    model, tok = mlx_ifp.load("smollm2-135m-instruct", adapter_path="default")
    pruner = mlx_ifp.Pruner(model, tok, source=mlx_ifp.make_source("predictor", path=str(SHIPPED)))
    slim, info = pruner.slim_for("Write a Python function that reverses a list.")
    assert info.mask.k == 768 and info.mask.source.startswith("predictor")
    assert info.active_params < info.source_params
    text = mlx_ifp.generate(model, tok, "2 + 2 =", max_tokens=8, pruner=pruner)
    assert text.strip()


@pytest.mark.real
def test_api_default_is_the_shipped_predictor_and_leaves_the_source_alone(smollm2_dir):
    """Pruner / generate with no source on the embedded model use the shipped predictor; its
    LoRA goes on a copy, so the loaded model keeps the logits mlx_lm would give."""
    import mlx.core as mx

    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    probe = mx.array([[1, 2, 3, 4, 5]])
    before = model(probe)
    pruner = mlx_ifp.Pruner(model, tok, keep=0.5)
    assert pruner.source.name == "predictor" and pruner.model is not model
    assert "LLM weights applied" in pruner.note
    masks = [pruner.slim_for(p)[1].mask for p in ("Solve 12 * 7.", "Write a poem about rain.")]
    assert all(m.k == 768 for m in masks)
    assert mx.array_equal(model(probe), before)
    # keep 1.0 is the source model as it is, as `generate --keep 1.0` runs it: no LoRA
    unpruned = mlx_ifp.Pruner(model, tok, keep=1.0)
    assert unpruned.source.name == "griffin" and unpruned.model is model
    # a model loaded without the shipped weights stays GRIFFIN's elsewhere
    assert mlx_ifp.Pruner(tiny_model("llama"), keep=0.5).source.name == "griffin"
    question = "What is the capital of France?"
    text = mlx_ifp.generate(model, tok, question, max_tokens=12)
    assert "France" in text or "Paris" in text, text
    # the greedy reply at keep 0.5 may go wrong (general knowledge is not in the training data:
    # route50, shipped 2026-11-30, said "the capital of the United States"); the slim model
    # must still rank Paris near the top (a broken slim path ranks it thousands down). Rank of
    # " Paris" after "The capital of France is": dense 1st, route50 3rd, rw25 (shipped
    # 2026-12-01) 5th, its learned static control 9th, rw25 with a rank-32 LoRA (shipped
    # 2026-12-02: lower KL and NLL over 120 test items, but not on this prompt) 9th, rw25.mix25
    # (its stage 2 partly on re-picked masks, shipped 2026-12-02) 6th, rw25.long (that stage 2
    # continued to 1,280 steps, learning rates decayed; shipped 2026-12-02) 7th
    slim, _ = pruner.slim_for(question)
    chat = [{"role": "user", "content": question}]
    head = tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    logits = slim(mx.array([tok.encode(head + "The capital of France is")]))[0, -1]
    top = [tok.decode([i]).strip() for i in mx.argsort(-logits)[:10].tolist()]
    assert "Paris" in top, top


@pytest.mark.real
def test_dense_prefill_runs_the_shipped_lora(smollm2_dir):
    """A dense prefill comes from the weights the slim model is cut from (the LoRA'd copy), not
    the bare source: at full width, dense-prefilled and slim-prefilled replies are the same
    model's, so they agree token for token (with the bare source's cache the reply parted at
    the 12th token)."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    prompt = "Write a Python function that returns the largest of three numbers."
    replies = {
        how: [
            r.token for r in mlx_ifp.stream_generate(model, tok, prompt, 16, keep=1.0, prefill=how)
        ]
        for how in ("slim", "dense")
    }
    assert replies["dense"] == replies["slim"]


@pytest.mark.real
def test_keep_033_uses_the_predictor_trained_for_it(smollm2_dir):
    """Pruner(keep=0.33) on the embedded model takes the keep-0.33 predictor and its LoRA, with no
    budget-mismatch warning; keep 0.5 stays on the default."""
    import warnings

    from mlx_ifp.inference import KeepMismatch

    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    with warnings.catch_warnings():
        warnings.simplefilter("error", KeepMismatch)
        pruner = mlx_ifp.Pruner(model, tok, keep=0.33)
    assert Path(pruner.source.path).name == "smollm2-135m-instruct-k0.33"
    assert "LLM weights applied" in pruner.note and pruner.model is not model
    assert pruner.slim_for("Solve 12 * 7.")[1].mask.k == 507
    assert Path(mlx_ifp.Pruner(model, tok, keep=0.5).source.path) == SHIPPED
