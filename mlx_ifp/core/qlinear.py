"""A quantized projection stored channel-major, so FFN channels can be kept exactly."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn


class ChannelQuantizedLinear(nn.Module):
    """A quantized down projection stored transposed, so each FFN channel is a packed row.

    ``y = x @ W.T`` with W (out, in) is computed as ``quantized_matmul(x, Wt, transpose=False)``
    with Wt (in, out) quantized along ``out``: keeping channels keeps whole rows, exactly.
    """

    def __init__(self, weight, scales, biases, group_size: int, bits: int, mode: str, bias=None):
        super().__init__()
        self.weight, self.scales = weight, scales
        if biases is not None:
            self.biases = biases
        if bias is not None:
            self.bias = bias
        self.group_size, self.bits, self.mode = group_size, bits, mode
        self.freeze()

    @classmethod
    def from_quantized(cls, q: nn.QuantizedLinear) -> ChannelQuantizedLinear:
        """Requantize a standard QuantizedLinear (out, in) into the channel-major layout."""
        w = mx.dequantize(q.weight, q.scales, q.get("biases"), q.group_size, q.bits, q.mode)
        wq = mx.quantize(w.T, q.group_size, q.bits, mode=q.mode)
        return cls(
            wq[0],
            wq[1],
            wq[2] if len(wq) > 2 else None,
            q.group_size,
            q.bits,
            q.mode,
            q.get("bias"),
        )

    def dequantized(self) -> mx.array:
        """The float weight in the usual (out, in) layout."""
        w = mx.dequantize(
            self.weight, self.scales, self.get("biases"), self.group_size, self.bits, self.mode
        )
        return w.T

    def __call__(self, x: mx.array) -> mx.array:
        y = mx.quantized_matmul(
            x,
            self.weight,
            self.scales,
            self.get("biases"),
            transpose=False,
            group_size=self.group_size,
            bits=self.bits,
            mode=self.mode,
        )
        return y + self.bias if "bias" in self else y
