"""Fiftieth session review of the session's own changes (helper hreview).

1. A mask's sidecar names its trained predictor by folder name and weights' sha256 (no local
   path). Read where its recorded place is gone, ``picked_by`` took the folder the model was
   loaded with (``--adapter DIR``) by name alone, and a recorded place holding another predictor
   was taken though the sha256 said otherwise: ``finetune`` writes ``ifp_adapters`` by default,
   so two runs share a name, and **a mask picked by one predictor ran with the other's LoRA,
   unsaid**. A recorded sha256 that differs from the folder's now refuses it in one line.
2. ``serve --api-key``: the paths left open were matched as prefixes, so ``/healthz``,
   ``/modelsX`` (any path starting so) answered without a key where every unknown path is a 401
   (docs/serve.md); they are matched whole now (a model's card below ``/models/`` still open).
3. ``serve --api-key KEY``: requests queue per client by their ``Authorization`` header, which
   every client now sends alike (the one key): **all clients shared one queue**, so one client's
   many requests starved another's (docs/serve.md's round robin). The client is now the header
   and the address together.
"""

import json
import shutil

import mlx_ifp
from mlx_ifp.core import Mask, UsageError
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry

import pytest
from test_serve import KEEP, word_tokenizer
from tiny import finetune_folder, predictor_world, tiny_model, world_mask

# ------------------------------------- 1. a predictor of the mask's name but not its weights


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return predictor_world(tmp_path_factory.mktemp("hreview") / "proj")


def test_another_predictor_of_the_same_name_given_is_refused(world, tmp_path):
    folder, bare, tok, adapter = world
    mask = world_mask(world)
    path = mask.save(tmp_path / "m" / "t1")
    sidecar = Mask.files(path)[1]  # as saved on a machine whose folder is not here: no place
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({k: v for k, v in meta.items() if k != "predictor_folder"}))
    other = finetune_folder(bare, tmp_path / "runs" / adapter.name, 48, seed=8)  # same name
    back = Mask.load(path)
    lora, _ = mlx_ifp.load(str(folder), adapter_path=str(other))  # --adapter OTHER
    with pytest.raises(UsageError, match=f"{other} is another predictor of that name"):
        mlx_ifp.select(lora, tok, mask=back)
    same = tmp_path / "copy" / adapter.name  # the very predictor, copied: taken
    shutil.copytree(adapter, same)
    lora, _ = mlx_ifp.load(str(folder), adapter_path=str(same))
    assert mlx_ifp.select(lora, tok, mask=Mask.load(path))[0] is not None


def test_another_predictor_at_the_recorded_place_is_not_taken(world, tmp_path):
    """A mask copied with its ``../NAME`` place into a tree whose NAME is another predictor."""
    _, bare, _, adapter = world
    world_mask(world).save(adapter.parent / "masks" / "t2")
    tree = tmp_path / "theirs"
    finetune_folder(bare, tree / adapter.name, 48, seed=9)
    shutil.copytree(adapter.parent / "masks", tree / "masks")
    back = Mask.load(tree / "masks" / "t2")
    assert back.source == f"predictor({adapter.name})", back.source  # not theirs: unresolved
    from mlx_ifp.sources import picked_by

    with pytest.raises(UsageError, match="is another predictor of that name"):  # (hmask2)
        picked_by(back)


# ------------------------------------------------------------- 2. public paths matched whole


@pytest.fixture(scope="module")
def keyed():
    from starlette.testclient import TestClient

    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    with TestClient(create_app(registry, api_keys=["k1"])) as client:
        yield client


@pytest.mark.parametrize("path", ["/healthz", "/health/x", "/modelsX", "/v1/models-all"])
def test_a_path_that_only_starts_as_a_public_one_needs_the_key(keyed, path):
    got = keyed.get(path)
    assert got.status_code == 401, (got.status_code, got.text)
    assert keyed.get(path, headers={"Authorization": "Bearer k1"}).status_code == 404


@pytest.mark.parametrize("path", ["/health", "/models", "/v1/models", "/v1/models/tiny"])
def test_the_public_paths_stay_open(keyed, path):
    """Guard: passed before the fix too."""
    assert keyed.get(path).status_code == 200


# ----------------------------------------------------- 3. one key: clients still take turns


def test_clients_sharing_the_one_key_keep_their_own_queues(monkeypatch):
    from starlette.testclient import TestClient

    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    app = create_app(registry, api_keys=["k1"])
    seen = []
    submit = app.state.scheduler.submit
    monkeypatch.setattr(app.state.scheduler, "submit", lambda job: seen.append(job) or submit(job))
    body = {"model": "tiny", "prompt": "t5 t6", "max_tokens": 2}
    for host in ("10.0.0.1", "10.0.0.2", "10.0.0.2"):
        with TestClient(app, client=(host, 5000)) as client:
            got = client.post("/v1/completions", json=body, headers={"Authorization": "Bearer k1"})
            assert got.status_code == 200, got.text
    one, two, again = (job.client for job in seen)
    assert one != two and two == again


def test_websocket_scope_needs_the_key_too():
    """A websocket scope went past the key check (no route takes one today; one added later
    would have been open): without the key it is closed before the handshake."""
    import asyncio

    from mlx_ifp.serve.app import key_check

    reached, sent = [], []

    async def app(scope, receive, send):
        reached.append(scope["type"])

    async def send(msg):
        sent.append(msg)

    async def receive():
        return {"type": "websocket.connect"}

    check = key_check(app, keys=[b"k1"])
    scope = {"type": "websocket", "path": "/v1/chat/completions", "headers": []}
    asyncio.run(check(scope, receive, send))
    assert reached == [] and sent and sent[0]["type"] == "websocket.close"
    good = dict(scope, headers=[(b"authorization", b"Bearer k1")])
    asyncio.run(check(good, receive, send))
    asyncio.run(check({"type": "lifespan"}, receive, send))
    assert reached == ["websocket", "lifespan"]
