"""Last session's open suspicions, each with a test that failed before its fix."""

from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.evaluation import run as ev

from corpus import fake_corpus
from tiny import tiny_model


def test_eval_generation_batches_are_bounded_by_batch_size(tmp_path, monkeypatch):
    """Items sharing one mask (per task) were generated as one batch of mlx-lm's default 32
    sequences, whatever ``--batch-size`` said."""
    corpus = fake_corpus(tmp_path, monkeypatch)
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    widths = []
    real_prune = ev.prune

    class Spy:  # the slim model, counting the sequences of each forward pass
        def __init__(self, slim):
            self.slim = slim

        def __getattr__(self, name):
            return getattr(self.slim, name)

        def __call__(self, inputs, *args, **kwargs):
            widths.append(inputs.shape[0])
            return self.slim(inputs, *args, **kwargs)

    monkeypatch.setattr(ev, "prune", lambda m, k: Spy(real_prune(m, k)))
    cfg = ev.EvalConfig(domains=("code",), sources=("griffin",), keeps=(0.5,), modes=("task",),
                        limit=5, gen_limit=5, batch_size=2, max_tokens={"code": 3})  # fmt: skip
    rows = ev.evaluate(model, tok, corpus, cfg, progress=False)["results"]
    assert rows and widths and max(widths) == 2


def test_the_repick_pass_keeps_its_kv_cache_within_max_kv_size(monkeypatch):
    """The re-pick pass's own KV cache grew with the whole reply though generation's was
    bounded by ``max_kv_size`` (qwen2: mlx-lm's rotating cache; llama's ``make_cache`` ignores
    the bound, in generation too)."""
    import mlx_ifp
    from mlx_ifp.inference import repick

    model, tok = tiny_model("qwen2"), synthetic_tokenizer(128)
    seen = []
    real_start = repick.start

    def start(*args, **kwargs):
        out = real_start(*args, **kwargs)
        seen.append(out[2])
        return out

    monkeypatch.setattr(repick, "start", start)
    reply = list(mlx_ifp.stream_generate(model, tok, "t5 t6 t7", 24, keep=0.5, repick=2,
                                         max_kv_size=8, chat_template=False))  # fmt: skip
    assert len(reply) == 24 and reply[-1].prune.repicks > 5
    (running,) = seen
    assert len(running.tokens) > 8
    # a rotating cache fed 2 tokens at once holds max_kv_size - 1 old ones beside them
    assert max(c.keys.shape[2] for c in running.cache) <= 8 + 1


def test_a_mask_of_a_newer_format_is_refused(tmp_path):
    """``Mask.load`` ignored ``format_version``: a file from a future format loaded silently."""
    import json

    from mlx_ifp.core import Mask, UsageError
    from mlx_ifp.sources import make_source

    import pytest

    mask = make_source("random").select(tiny_model("llama"), [1], 48)
    path = mask.save(tmp_path / "m")
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    assert Mask.load(path).digest() == mask.digest()
    sidecar.write_text(json.dumps({**meta, "format_version": meta["format_version"] + 1}))
    with pytest.raises(UsageError, match="newer than this mlx_ifp"):
        Mask.load(path)


def test_an_error_whose_first_line_introduces_a_list_keeps_the_list():
    """A model folder without tokenizer files said only "Couldn't instantiate the backend
    tokenizer from one of: " (transformers' list of what it tried was cut)."""
    from mlx_ifp.common import first_line

    e = ValueError("Couldn't instantiate the tokenizer from one of: \n(1) a file, \n(2) a class.")
    assert (
        first_line(e) == "Couldn't instantiate the tokenizer from one of: (1) a file, (2) a class."
    )
    assert first_line(ValueError("one\ntwo")) == "one" and first_line(ValueError()) == "ValueError"


def test_a_config_that_transformers_refuses_is_one_line(tmp_path):
    """A config.json value of the wrong type (here a null context length) raised
    huggingface_hub's StrictDataclassFieldValidationError as a traceback."""
    import json

    import mlx_ifp

    import mlx.core as mx
    import pytest
    from mlx.utils import tree_flatten

    model = tiny_model("llama")
    mx.save_safetensors(str(tmp_path / "model.safetensors"), dict(tree_flatten(model.parameters())))
    config = {k: v for k, v in vars(model.args).items() if v is not None}
    (tmp_path / "config.json").write_text(json.dumps({**config, "max_position_embeddings": None}))
    with pytest.raises(mlx_ifp.UsageError, match="^could not load .*max_position_embeddings"):
        mlx_ifp.load(str(tmp_path))


def test_the_server_names_a_predictor_by_its_folder_not_its_path():
    """Replies' ``mlx_ifp.mask_source`` carried the server's absolute predictor path."""
    from types import SimpleNamespace

    from mlx_ifp.serve import registry

    shipped = SimpleNamespace(source="predictor(/srv/site-packages/mlx_ifp/weights/smollm2-k05)")
    assert registry._named(shipped.source) == "predictor(smollm2-k05)"  # (s47: a source's key)
    assert registry._named("griffin") == "griffin"
