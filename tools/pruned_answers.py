"""The pruned default's own greedy replies to a prompts file: data for on-policy distillation.

    python tools/pruned_answers.py --prompts PROMPTS.jsonl -o DIR [--run DIR] [--keep 0.5]
        [--max-tokens 128] [--split train] [--limit N]

Each prompt is answered as `mlx_ifp generate` answers it: the shipped predictor for the budget
(or a finetune output, `--run DIR`, with its LoRA), the mask re-picked as by default, a slim
prefill, greedy, float32 weights. The replies are written as `make_writing.py`'s `answer` step
writes the dense model's (`DIR/train.jsonl.gz` and `valid.jsonl.gz` by the rows' `split`, a reply
cut at `--max-tokens` marked `"truncated": true`, resumable from `DIR/partial.jsonl`), so
`make_chat6.py corpus --answers DIR` (or `make_chat.py`'s) builds a corpus of them. Trained with
`distill 1, ce 0`, the frozen dense model then scores every position of the pruned model's own
text: where a pruned reply drifts from dense's and misses the end, dense says where it would end
(`docs/results/end_weight/`: teacher-forced on dense's replies the end is learnt, greedy replies
leave dense's path within 5 tokens). `--split`/`--limit`: only those rows (the first N per
group); the groups are answered in turn, so a run stopped part way has answered them alike.
"""

import argparse
import functools
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def pruned_replies(run: str | None, keep: str, max_tokens: int):
    """``replies(rows, bar)``: (text, ended) per row, as ``generate`` answers each prompt; the
    model loads at the first call (a resumed run with nothing left to answer loads nothing)."""
    import mlx_ifp

    @functools.cache
    def loaded():
        model, tok = mlx_ifp.load(adapter_path=run, dequantize=True, dtype="float32")
        if run:
            return model, tok, mlx_ifp.Pruner(model, tok, "predictor", keep=keep, path=run)
        return model, tok, mlx_ifp.Pruner(model, tok, keep=keep)

    def replies(rows: list[dict], bar) -> list[tuple[str, bool]]:
        model, tok, pruner = loaded()
        out = []
        for row in rows:
            toks, last = [], None
            for last in mlx_ifp.stream_generate(
                model, tok, row["prompt"], max_tokens, pruner=pruner
            ):
                toks.append(last.token)
            ended = last is not None and last.finish_reason == "stop"
            out.append((tok.decode([t for t in toks if t not in tok.eos_token_ids]).strip(), ended))
            bar.advance(1)
        return out

    return replies


def interleaved(rows: list[dict], n: int | None = None) -> list[dict]:
    """The first ``n`` rows of each group (all: None), taken in turn from each group, so that a
    run stopped part way (resumed later) has answered the groups alike."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get("group"), []).append(row)
    lists = [g if n is None else g[:n] for g in groups.values()]
    return [g[i] for i in range(max(map(len, lists), default=0)) for g in lists if i < len(g)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", required=True, help="a prompts file (make_chat*.py prompts)")
    p.add_argument("-o", "--output", required=True, help="the answers folder written")
    p.add_argument("--run", help="a finetune output (predictor + LoRA); default: the shipped one")
    p.add_argument("--keep", default="0.5", help="the budget (0.5)")
    p.add_argument("--max-tokens", type=int, default=128, help="reply length cap (128)")
    p.add_argument("--split", choices=("train", "valid"), help="only the rows of this split")
    p.add_argument("--limit", type=int, help="only the first N rows of each group")
    a = p.parse_args()
    from make_writing import write_answers

    path = Path(a.prompts)
    if not path.is_file():
        p.error(f"no prompts file {path}")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if a.split in (None, r.get("split"))]
    rows = interleaved(rows, a.limit)
    if not rows:
        p.error(f"no rows of {path} are left to answer")
    if a.run and not Path(a.run).is_dir():  # before anything is written
        p.error(f"no run folder {a.run} (a finetune output: predictor + LoRA)")
    run = str(Path(a.run).resolve()) if a.run else None
    label = f"pruned:{'shipped' if run is None else Path(run).name}:{a.keep}:greedy:{a.max_tokens}"
    with tempfile.TemporaryDirectory() as tmp:  # the rows chosen, as write_answers reads them
        chosen = Path(tmp) / "prompts.jsonl"
        chosen.write_text("".join(json.dumps(r) + "\n" for r in rows))
        try:
            n = write_answers(
                chosen,
                Path(a.output),
                "",
                a.max_tokens,
                1,
                "pruned",
                pruned_replies(run, a.keep, a.max_tokens),
                label,
            )
        except (FileExistsError, FileNotFoundError, ValueError) as e:  # ValueError: UsageError
            p.error(str(e))
    print(f"{n} replies -> {a.output}")


if __name__ == "__main__":
    main()
