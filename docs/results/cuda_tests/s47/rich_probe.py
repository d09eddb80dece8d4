import builtins
import sys
import traceback

orig, seen = builtins.__import__, []


def hook(name, *a, **k):
    if name.split(".")[0] == "rich" and "rich" not in sys.modules and not seen:
        seen.append(1)
        traceback.print_stack(limit=30)
    return orig(name, *a, **k)


builtins.__import__ = hook
import mlx_ifp  # noqa: E402

print("after import:", sorted(m for m in ("typer", "rich") if m in sys.modules))
from mlx_ifp.bench.models import synthetic_tokenizer  # noqa: E402

from tiny import tiny_model  # noqa: E402

text = mlx_ifp.generate(
    tiny_model("llama"),
    synthetic_tokenizer(128),
    "t5 t9 t3",
    max_tokens=4,
    keep=0.5,
    chat_template=False,
)
print("after generate:", sorted(m for m in ("typer", "rich") if m in sys.modules))
