"""A walk through the README and docs/serve.md as a new user (forty-second session, review).

``mlx_ifp serve`` on the embedded model loaded it with the shipped keep-0.5 LoRA applied, so a
task given as a mask file that another source picked, which docs/serve.md says is "cut as
``generate --mask`` cuts it", was not:
- a GRIFFIN mask (``generate --mask-source griffin --save-mask M``) was cut from the LoRA'd
  model, not the bare one ``generate --mask M`` cuts it from: other replies;
- a mask of the shipped keep-0.33 predictor (``generate --keep 0.33 --save-mask M``) stopped
  the server at start-up ("trained jointly with lora weights of the LLM: load the model with
  them"), where ``generate --mask M`` runs it with that predictor's LoRA.
The server now loads the model as it is and its pruners put the shipped LoRA on a copy, as the
Python API's do.
"""

import mlx_ifp
from mlx_ifp.cli.serve import served_model
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import GenRequest

import pytest

pytestmark = pytest.mark.real
PROMPT = "What is the capital of France?"


@pytest.fixture(scope="module")
def masks(tmp_path_factory):
    """The embedded model, bare, and two mask files: GRIFFIN's and the keep-0.33 predictor's."""
    folder = tmp_path_factory.mktemp("masks")
    bare, tok = mlx_ifp.load("smollm2-135m-instruct")
    _, gr = mlx_ifp.select(bare, tok, "Answer geography questions.", mask_source="griffin")
    _, k33 = mlx_ifp.select(bare, tok, "Answer geography questions.", keep=0.33)
    assert "k0.33" in k33.mask.source
    paths = {"gr": gr.mask.save(folder / "gr"), "k33": k33.mask.save(folder / "k33")}
    return bare, tok, {name: {"mask": str(path)} for name, path in paths.items()}


def served_text(reg: Registry, name: str) -> str:
    messages = [{"role": "user", "content": PROMPT}]
    req = GenRequest(model=f"smol:{name}", prompt=messages, chat=True, max_tokens=12)
    return "".join(p.text for p in reg.generate(req))


REPLIES: dict[str, str] = {}  # by mask file: both tests compare to the GRIFFIN mask's reply


def generated(bare, tok, spec: dict) -> str:
    if spec["mask"] not in REPLIES:
        mask = mlx_ifp.Mask.load(spec["mask"])
        REPLIES[spec["mask"]] = mlx_ifp.generate(bare, tok, PROMPT, max_tokens=12, mask=mask)
    return REPLIES[spec["mask"]]


def test_serve_cuts_a_griffin_mask_file_as_generate_does(masks):
    bare, tok, tasks = masks
    net, tokenizer, source = served_model("smollm2-135m-instruct", "0.5", None)
    reg = Registry(
        net, tokenizer, "smol", keep="0.5", mask_source=source, tasks={"gr": tasks["gr"]}
    )
    shipped = reg.prompt_pruner.source.path  # per prompt: the shipped predictor
    assert (
        shipped.name == "smollm2-135m-instruct" and reg.prompt_pruner.model is not net
    )  # its LoRA on a copy
    assert served_text(reg, "gr") == generated(bare, tok, tasks["gr"])  # was: the LoRA'd model's


def test_serve_runs_a_keep_033_predictor_mask_file_beside_the_default(masks):
    bare, tok, tasks = masks
    net, tokenizer, source = served_model("smollm2-135m-instruct", "0.5", None)
    # was refused at start-up
    reg = Registry(net, tokenizer, "smol", keep="0.5", mask_source=source, tasks=tasks)
    assert reg.k == 768 and reg.tasks["k33"].mask.k == 507
    assert served_text(reg, "k33") == generated(bare, tok, tasks["k33"])
    assert served_text(reg, "gr") == generated(bare, tok, tasks["gr"])
