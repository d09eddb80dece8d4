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
