"""Issue 14, loading safety: safetensors and JSON only (no pickle, no torch.load, no remote
code), and a server that binds loopback unless told otherwise, with a warning then."""

import inspect
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mlx_ifp"
#: what can execute code while loading a file, and how it is spelled in Python source
UNSAFE = {
    "pickle": r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve)\b|\bpickle\.loads?\(",
    "torch.load": r"\btorch\.load\(|\bfrom\s+torch\s+import\s+load\b",
    "numpy pickles": r"allow_pickle\s*=\s*True",
    "remote code": r"trust_remote_code\s*=\s*True|[\"']trust_remote_code[\"']\s*:\s*True",
    "eval of file contents": r"\byaml\.load\(|\byaml\.unsafe_load\(|\bmarshal\.loads?\(",
}


def unsafe_uses(text: str, where: str = "") -> list[str]:
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        found += [
            f"{where}:{n}: {what}" for what, rx in UNSAFE.items() if re.search(rx, code, re.I)
        ]
    return found


def test_the_package_loads_nothing_that_can_run_code():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += unsafe_uses(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "import pickle",
        "from cPickle import loads",
        "w = torch.load(path)",
        "np.load(f, allow_pickle=True)",
        "AutoTokenizer.from_pretrained(p, trust_remote_code=True)",
        "cfg = yaml.load(text)",
        "opts = {'trust_remote_code': True}",
    ],
)
def test_the_scan_can_fail(line):
    assert unsafe_uses(line)


def test_the_server_binds_loopback_by_default_and_warns_otherwise():
    from mlx_ifp.cli import app
    from mlx_ifp.cli.serve import serve_command

    from typer.testing import CliRunner

    assert inspect.signature(serve_command).parameters["host"].default == "127.0.0.1"
    for host, warned in (("0.0.0.0", True), ("192.168.1.5", True), ("127.0.0.1", False)):
        run = CliRunner().invoke(app, ["serve", "--host", host, "--model", "/no/such/model"])
        assert run.exit_code == 2  # the missing model, after the warning
        assert ("Warning: binding" in run.output) == warned, run.output
