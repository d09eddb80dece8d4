"""A PyTorch reference for batch-1 decode of a Llama shape at several FFN widths (GPU machine).

Not part of mlx_ifp (PyTorch is not a dependency): it answers one question for the
performance notes. Does a slimmer FFN decode at the weight-bytes ratio once per-kernel launch
overhead is out of the way? Each model is timed eagerly and as one captured CUDA graph per
decode step, with a static KV cache of ``--context`` positions (random weights, bf16).

    python3 tools/torch_decode_reference.py --k 14336 --k 4779 --k 16 -o torch_ref.json
"""

from __future__ import annotations

import argparse
import json
import os

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # ``--help`` works without PyTorch; a measurement needs it
    torch = F = None

SHAPES = {
    "8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, vocab=128256),
    "1b": dict(hidden=2048, layers=16, heads=32, kv_heads=8, vocab=128256),
}


class Decoder:
    """Llama decode step over a static cache: RMSNorm, GQA attention, SwiGLU FFN, LM head."""

    def __init__(self, shape: dict, d_ffn: int, context: int, dev="cuda", dt=None):
        dt = dt or torch.bfloat16
        h, nh, nkv = shape["hidden"], shape["heads"], shape["kv_heads"]
        hd = h // nh
        self.nh, self.nkv, self.hd = nh, nkv, hd

        def w(*s):
            return torch.randn(*s, device=dev, dtype=dt) * 0.02

        self.layers = [
            dict(qkv=w((nh + 2 * nkv) * hd, h), o=w(h, nh * hd), gate=w(d_ffn, h),
                 up=w(d_ffn, h), down=w(h, d_ffn),
                 k=w(1, nkv, context, hd), v=w(1, nkv, context, hd))
            for _ in range(shape["layers"])
        ]  # fmt: skip
        self.embed = w(shape["vocab"], h)
        self.head = w(shape["vocab"], h)
        self.weight_bytes = (
            sum(
                t.numel() * t.element_size()
                for lay in self.layers
                for n, t in lay.items()
                if n not in ("k", "v")
            )
            + self.head.numel() * self.head.element_size()
        )

    def step(self, tok: torch.Tensor) -> torch.Tensor:
        x = self.embed[tok].view(1, 1, -1)
        for lay in self.layers:
            a = F.rms_norm(x, (x.shape[-1],))
            q, k, v = F.linear(a, lay["qkv"]).split(
                [self.nh * self.hd, self.nkv * self.hd, self.nkv * self.hd], dim=-1
            )
            q = q.view(1, 1, self.nh, self.hd).transpose(1, 2)
            att = F.scaled_dot_product_attention(q, lay["k"], lay["v"], enable_gqa=True)
            x = x + F.linear(att.transpose(1, 2).reshape(1, 1, -1), lay["o"])
            a = F.rms_norm(x, (x.shape[-1],))
            x = x + F.linear(F.silu(F.linear(a, lay["gate"])) * F.linear(a, lay["up"]), lay["down"])
        return torch.argmax(F.linear(x[:, -1], self.head), dim=-1)


def timed(fn, n: int) -> float:
    """Milliseconds per call, CUDA events, after a warm-up."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(n):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / n


def measure(shape: str, widths: list[int], context: int, steps: int) -> list[dict]:
    rows = []
    for k in widths:
        torch.manual_seed(0)
        net = Decoder(SHAPES[shape], k, context)
        tok = torch.zeros(1, dtype=torch.long, device="cuda")
        with torch.no_grad():
            eager = timed(lambda net=net, tok=tok: net.step(tok), steps)
            graph = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    net.step(tok)
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(graph):
                net.step(tok)
            replay = timed(graph.replay, steps)
        rows.append({"shape": shape, "d_ffn": k, "weight_bytes": net.weight_bytes,
                     "eager_ms": eager, "graph_ms": replay,
                     "graph_tb_s": net.weight_bytes / replay / 1e9})  # fmt: skip
        del net, graph
        torch.cuda.empty_cache()
    dense = rows[0]
    for r in rows:
        r["ideal"] = dense["weight_bytes"] / r["weight_bytes"]
        r["eager_speedup"] = dense["eager_ms"] / r["eager_ms"]
        r["graph_speedup"] = dense["graph_ms"] / r["graph_ms"]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="8b", choices=SHAPES)
    ap.add_argument("--k", type=int, action="append", help="FFN widths; the first is dense.")
    ap.add_argument("--context", type=int, default=576)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    if torch is None:
        ap.error("needs PyTorch with CUDA (pip install torch)")
    rows = measure(a.shape, a.k or [14336, 4779, 16], a.context, a.steps)
    print("| d_ffn | eager ms | graph ms | graph TB/s | eager speed-up | graph speed-up | ideal |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['d_ffn']} | {r['eager_ms']:.2f} | {r['graph_ms']:.2f} | "
              f"{r['graph_tb_s']:.2f} | {r['eager_speedup']:.2f} | {r['graph_speedup']:.2f} | "
              f"{r['ideal']:.2f} |")  # fmt: skip
    if a.output:  # written whole, then renamed: never a half-written file
        tmp = f"{a.output}.tmp"
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(tmp, a.output)


if __name__ == "__main__":
    main()
