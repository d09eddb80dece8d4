"""The files the bad-input suite feeds in: a tiny model folder and, beside it, broken copies of
every kind of file the package reads (model, adapter, mask, predictor, checkpoint, data)."""

import json
import shutil
from pathlib import Path

import mlx_ifp
from mlx_ifp.train import finetune, load_config

import mlx.core as mx
from tiny import finetune_folder, save_folder, tiny_model


def corrupt_middle(path: Path) -> None:
    """Flip bytes in the middle of a file's data: its header still parses, its sha256 changes."""
    raw = bytearray(path.read_bytes())
    mid = len(raw) - 16
    raw[mid : mid + 8] = bytes(b ^ 0xFF for b in raw[mid : mid + 8])
    path.write_bytes(bytes(raw))


def truncate(path: Path, keep: int | None = None) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2 if keep is None else keep])


def copy_with(src: Path, dst: Path, change) -> Path:
    shutil.copytree(src, dst)
    change(dst)
    return dst


def words_data(folder: Path, n_train: int = 12, n_valid: int = 4) -> Path:
    """Prompt/completion records in the synthetic tokenizer's words (t0 .. t127)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("valid", n_valid)):
        rows = [
            {
                "prompt": " ".join(f"t{(i * 7 + j) % 120 + 2}" for j in range(5)),
                "completion": "t9 t8",
            }
            for i in range(n)
        ]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def build(root: Path) -> dict[str, Path]:
    """Every input of the suite under ``root``; returns name -> path."""
    w: dict[str, Path] = {}
    model = tiny_model("llama")
    w["model"] = save_folder(model, root / "model")
    net, tok = mlx_ifp.load(str(w["model"]))
    m = lambda name, change: copy_with(w["model"], root / name, change)  # noqa: E731
    st = "model.safetensors"
    w["model_truncated"] = m("model_truncated", lambda f: truncate(f / st))
    w["model_bad_header"] = m("model_bad_header", lambda f: (f / st).write_bytes(b"\xff" * 64))
    w["model_empty_weights"] = m("model_empty_weights", lambda f: (f / st).write_bytes(b""))
    w["model_config_not_json"] = m(
        "model_config_not_json", lambda f: (f / "config.json").write_text("{nope")
    )
    w["model_config_list"] = m("model_config_list", lambda f: (f / "config.json").write_text("[1]"))
    w["model_no_type"] = m("model_no_type", lambda f: (f / "config.json").write_text("{}"))
    w["model_no_weights"] = m("model_no_weights", lambda f: (f / st).unlink())
    w["text_gguf"] = root / "text.gguf"
    w["text_gguf"].write_text("this is a text file, renamed\n")
    w["magic_gguf"] = root / "magic.gguf"
    w["magic_gguf"].write_bytes(b"GGUX" + b"\x03\x00\x00\x00" + b"\x00" * 64)
    w["counts_gguf"] = root / "counts.gguf"
    w["counts_gguf"].write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 16)

    _, info = mlx_ifp.select(net, tok, "t5 t6 t7", keep=0.5, mask_source="static")
    w["mask"] = info.mask.save(root / "mask")
    for name, change in {
        "mask_truncated": lambda p: truncate(p),
        "mask_bad_header": lambda p: p.write_bytes(b"\x10" + b"\x00" * 7 + b"{garbage"),
    }.items():
        dst = root / f"{name}.safetensors"
        shutil.copy(w["mask"], dst)
        shutil.copy(w["mask"].with_suffix(".json"), dst.with_suffix(".json"))
        change(dst)
        w[name] = dst
    w["mask_sidecar_list"] = root / "mask_sidecar_list.safetensors"
    shutil.copy(w["mask"], w["mask_sidecar_list"])
    w["mask_sidecar_list"].with_suffix(".json").write_text("[1, 2]")
    w["mask_out_of_range"] = root / "mask_out_of_range.safetensors"
    mx.save_safetensors(str(w["mask_out_of_range"]), {"indices": mx.full((3, 48), 500, mx.int32)})
    w["mask_out_of_range"].with_suffix(".json").write_text(json.dumps({"d_ffn": 96}))
    other = tiny_model("llama", intermediate_size=64)
    w["mask_other_model"] = mlx_ifp.Mask.full(other).save(root / "mask_other_model")

    w["adapter"] = finetune_folder(model, root / "adapter", 48)
    w["adapter_truncated"] = copy_with(
        w["adapter"],
        root / "adapter_truncated",
        lambda f: truncate(f / "adapters.safetensors", 300),
    )
    w["adapter_no_weights"] = copy_with(
        w["adapter"],
        root / "adapter_no_weights",
        lambda f: (f / "adapters.safetensors").unlink(),
    )
    w["adapter_no_weights_unrecorded"] = copy_with(  # an older finetune's: no "train" key
        w["adapter_no_weights"],
        root / "adapter_no_weights_unrecorded",
        lambda f: (f / "ifp_config.json").write_text(
            json.dumps(
                {
                    k: v
                    for k, v in json.loads((f / "ifp_config.json").read_text()).items()
                    if k != "train"
                }
            )
        ),
    )
    w["adapter_bad_predictor"] = copy_with(
        w["adapter"],
        root / "adapter_bad_predictor",
        lambda f: (f / "predictor.safetensors").write_bytes(b"\x08" + b"\x00" * 7 + b"{}"),
    )
    w["predictor_other_model"] = finetune_folder(
        other, root / "predictor_other_model", 32, train="frozen"
    )

    w["data"] = words_data(root / "data")
    w["data_no_splits"] = root / "data_no_splits"
    w["data_no_splits"].mkdir()
    (w["data_no_splits"] / "notes.txt").write_text("no train.jsonl here\n")
    w["data_malformed"] = copy_with(w["data"], root / "data_malformed", _malformed)
    w["data_wrong_keys"] = copy_with(
        w["data"],
        root / "data_wrong_keys",
        lambda f: (f / "train.jsonl").write_text('{"question": "t5", "answer": "t6"}\n'),
    )
    w["data_empty"] = copy_with(
        w["data"], root / "data_empty", lambda f: (f / "train.jsonl").write_text("")
    )
    w["data_not_utf8"] = copy_with(
        w["data"],
        root / "data_not_utf8",
        lambda f: (f / "train.jsonl").write_bytes(b'{"text": "\xff\xfe"}\n'),
    )
    w["yaml_unknown"] = root / "unknown.yaml"
    w["yaml_unknown"].write_text(f"data: {w['data']}\nlearning_rte: 0.1\n")

    cfg = dict(model=str(w["model"]), data=str(w["data"]), output=str(root / "ckpt"), iters=2)
    cfg.update(batch_size=4, save_every=1, val_every=0, max_seq_length=32, quiet=True)
    cfg.update(predictor=dict(layers=1, rank=8))
    w["ckpt"] = finetune(load_config(None, **cfg), net, tok)
    w["ckpt_bad_state"] = copy_with(
        w["ckpt"],
        root / "ckpt_bad_state",
        lambda f: (f / "trainer_state.json").write_text("{broken"),
    )
    w["ckpt_corrupt"] = copy_with(
        w["ckpt"], root / "ckpt_corrupt", lambda f: corrupt_middle(f / "predictor.safetensors")
    )
    w["ckpt_truncated"] = copy_with(
        w["ckpt"], root / "ckpt_truncated", lambda f: truncate(f / "trainer_state.safetensors")
    )
    w["a_file"] = root / "a_file"
    w["a_file"].write_text("precious\n")
    return w


def _malformed(folder: Path) -> None:
    lines = (folder / "train.jsonl").read_text().splitlines()
    lines[2] = '{"prompt": "t5", "completion": '  # line 3 cut short
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n")


def listing(*folders: Path) -> dict[str, int]:
    """Every file and folder under ``folders`` (hidden ones too), with file sizes."""
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            out[str(p)] = p.stat().st_size if p.is_file() else -1
    return out


def one_error(run) -> str:
    """A CLI run refused its input as the package promises: exit code 2, no traceback, exactly
    one ``Error:`` line on stderr (returned)."""
    err = run.stderr if isinstance(run.stderr, str) else run.stderr.decode(errors="replace")
    assert run.returncode == 2, (run.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    errors = [x for x in err.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1, err
    return errors[0]


def never_called(*_, **__):
    """Stands in for slow work (a model load, a corpus build) that bad input must not reach."""
    raise AssertionError("reached the slow work before the bad input was refused")


def no_model_load(monkeypatch) -> None:
    monkeypatch.setattr(mlx_ifp, "load", never_called)
