"""tools/ as issue 10 asks (fifty-eighth session's review): every script, Python or shell, in
any folder, answers ``--help`` with its usage and does nothing else, reads its arguments before it
loads a model, has its own row in tools/README.md's table whose named outputs exist, and every
``python tools/...`` / ``bash tools/...`` command the docs name gives flags its script takes.

Failed before: the four shell scripts did not answer ``--help`` (``train_default.sh --help``
took ``--help`` for its output folder, copied the corpus with the facts into the cache and started
four trainings; ``bench_gpu.sh --help`` made ``runs/gpu`` and printed nothing; the two device
scripts exited 2); the seven list modules of the chat sets had no row of their own (only a
mention in another's), and a blank line cut the table in two, so that the rows after
``torch_decode_reference.py`` rendered as loose text; docs/finetune_throughput.md gave
``bench_finetune.py --ab``, a flag removed since.
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_review_s57_docs import expand  # the shell's braces: a{1,2}b -> a1b, a2b

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
#: What names commands: the READMEs, the docs and the tools' own docstrings (indented lines).
DOCS = [ROOT / "README.md", ROOT / "RELIABILITY.md", TOOLS / "README.md"]
DOCS += [*(ROOT / "docs").glob("*.md"), *TOOLS.glob("*.py")]
OUTPUT = re.compile(r"\.(json|jsonl|md|png|txt|py|sh|yaml|gz|tar|svg|pdf)$|/$")


def tools() -> list[str]:
    """Every script under tools/, as its path there (``sub/x.py`` for one in a folder)."""
    paths = [p for p in TOOLS.rglob("*") if p.suffix in (".py", ".sh") and p.is_file()]
    return sorted(str(p.relative_to(TOOLS)) for p in paths if "__pycache__" not in p.parts)


def table(text: str) -> dict[str, list[str]]:
    """Script -> the cells after its name, for the rows of the README's table: the lines from
    its header to the first line that is not a row (a blank line ends a Markdown table)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| script |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def missing_outputs(cell: str) -> list[str]:
    """The paths a "what it produced" cell names that exist nowhere: each is read from the root,
    or (a bare name) beside the last path the cell named with a folder (``docs/results/x/``,
    ``x/``), or one of its folders up, or in docs/, docs/results/ or tools/."""
    missing, near = [], ROOT / "docs" / "results"
    for token in re.findall(r"`([^`\s]+)`", cell):
        if not OUTPUT.search(token):
            continue
        for path in expand(token):
            bases = [ROOT] if "/" in path.rstrip("/") else []
            bases += [near, *near.parents, ROOT / "docs", ROOT / "docs" / "results", TOOLS]
            found = [f for b in bases if ROOT in (b, *b.parents) for f in b.glob(path.rstrip("/"))]
            if not found:
                missing.append(path)
            elif "/" in path:  # a folder: the bare names after it are read beside it
                near = found[0] if path.endswith("/") else found[0].parent
    return missing


def test_every_tool_has_its_own_row_in_the_tools_readme_table():
    rows = table((TOOLS / "README.md").read_text())
    assert sorted(rows) == tools()
    for name, cells in rows.items():
        assert len(cells) == 2 and all(cells), f"{name}: what it measures | what it produced"


def test_every_output_the_tools_readme_names_exists():
    rows = table((TOOLS / "README.md").read_text())
    assert {name: missing_outputs(cells[-1]) for name, cells in rows.items()} == {
        name: [] for name in rows
    }


def test_the_path_check_finds_a_missing_output():
    assert missing_outputs("`docs/results/fuzz.json`, `README.md`") == []
    assert missing_outputs("`docs/results/train_facts/` (`facts.jsonl.gz`, README)") == []
    assert missing_outputs("`docs/results/nope_s58.json`") == ["docs/results/nope_s58.json"]
    assert missing_outputs("`docs/results/train_facts/` (`nope.json`)") == ["nope.json"]
    cut = "| script | a | b |\n| --- | --- | --- |\n| `x.py` | m | p |\n\n| `y.py` | m | p |"
    assert table(cut) == {"x.py": ["m", "p"]}  # a blank line ends the table


@pytest.mark.parametrize("script", [s for s in tools() if s.endswith(".sh")])
def test_shell_tool_answers_help_and_does_nothing_else(tmp_path, script):
    lines = (TOOLS / script).read_text().splitlines()
    assert lines[0].startswith("#!") and lines[1].startswith("# ") and lines[1][2:].strip()
    env = {**os.environ, "HOME": str(tmp_path), "MLX_IFP_CACHE": str(tmp_path / "cache")}
    env.update(OUT=str(tmp_path / "out"), DATA=str(tmp_path / "data"))
    for flag in ("--help", "-h"):
        run = subprocess.run(
            ["bash", str(TOOLS / script), flag],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, run.stderr
        assert "usage" in run.stdout.lower() and lines[1][2:].strip() in run.stdout
        assert list(tmp_path.iterdir()) == [], f"{script} {flag} wrote files"
    run = subprocess.run(
        ["bash", str(TOOLS / script), "--no-such-flag"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode != 0 and list(tmp_path.iterdir()) == [], f"{script}: {run.stderr}"


@pytest.mark.parametrize("script", [s for s in tools() if s.endswith(".py")])
def test_python_tool_docstring_opens_with_a_summary_line_of_its_own(script):
    doc = ast.get_docstring(ast.parse((TOOLS / script).read_text())) or ""
    lines = doc.splitlines() or [""]
    assert lines[0].strip() and (len(lines) == 1 or not lines[1].strip()), lines[:2]


#: Runs every Python tool as __main__ in one process, argparse's parsing replaced by a capture
#: and the model loaders by an error: prints script -> its options and positional choices.
CAPTURE = """
import argparse, json, runpy, sys
import mlx_ifp, mlx_ifp.models, mlx_ifp.models.resolve as resolve

class Parsed(Exception):
    pass

def parsed(self, args=None, namespace=None):
    raise Parsed(self)

def loaded(*args, **kwargs):
    raise RuntimeError("a model loaded before the arguments were read")

argparse.ArgumentParser.parse_known_args = parsed
mlx_ifp.load = mlx_ifp.models.load = resolve.load = loaded
try:
    import mlx_lm, mlx_lm.utils
    mlx_lm.load = mlx_lm.utils.load = loaded
except ImportError:
    pass
folder = sys.argv[1]
sys.path.insert(0, folder)
found = {}
for script in sys.argv[2:]:
    sys.argv = [script]
    try:
        runpy.run_path(f"{folder}/{script}", run_name="__main__")
        found[script] = "ended without reading arguments"
    except Parsed as e:
        p = e.args[0]
        found[script] = {
            "options": {o: a.nargs != 0 for a in p._actions for o in a.option_strings},
            "choices": [list(a.choices or ()) for a in p._actions if not a.option_strings],
        }
    except BaseException as e:
        found[script] = f"{type(e).__name__}: {e}"[:300]
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def parsers() -> dict:
    scripts = [s for s in tools() if s.endswith(".py")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", CAPTURE, str(TOOLS), *scripts],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.splitlines()[-1])


def test_every_python_tool_reads_its_arguments_before_loading_a_model(parsers):
    assert {s: v for s, v in parsers.items() if not isinstance(v, dict)} == {}


FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.S | re.M)
COMMAND = re.compile(r"\b(?:python|bash) (tools/[\w./-]+)(.*)")
STOP = {";", "&&", "||", "|", "&", "2>&1"}


def commands(text: str) -> list[tuple[str, list[str]]]:
    """``(script, words)`` of each ``python tools/...`` or ``bash tools/...`` command in Markdown:
    in fenced or indented code, or in an inline span (lines joined), up to a ``;``, pipe or
    redirection; ``[--flag]`` read as ``--flag``."""
    text = text.replace("\\\n", " ")
    pieces = [line for block in FENCE.findall(text) for line in block.splitlines()]
    rest = FENCE.sub("", text)
    for paragraph in re.split(r"\n\s*\n", rest):
        pieces += [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", paragraph)]
    bare = re.sub(r"`[^`\n]*`", "", rest)
    pieces += [line for line in bare.splitlines() if line.startswith("    ")]
    found = []
    for piece in pieces:
        for m in COMMAND.finditer(piece):
            words = []
            for word in m.group(2).split():
                if word in STOP or word.startswith((">", "#", "2>")):
                    break
                words.append(word.strip("[]"))
            found.append((m.group(1), words))
    return found


def wrong_words(words: list[str], parser: dict) -> list[str]:
    """The flags of ``words`` the parser has not (``--x=1`` read as ``--x``), and a first
    positional word outside the choices of a parser whose first positional has them."""
    wrong, positional, i = [], [], 0
    while i < len(words):
        word = words[i]
        if re.match(r"--?[A-Za-z]", word):
            flag = word.split("=")[0]
            if flag not in parser["options"]:
                wrong.append(flag)
            elif parser["options"][flag] and "=" not in word:
                i += 1  # its value
        elif word != "...":
            positional.append(word)
        i += 1
    first = parser["choices"][0] if parser["choices"] else []
    if first and positional and positional[0] not in first:
        wrong.append(positional[0])
    return wrong


def test_the_command_check_reads_docs_as_written():
    text = (
        "Run `python tools/x.py corpus --a 1\n[--b]` or\n\n    A=1 python tools/y.py -o f > log\n"
    )
    assert commands(text) == [
        ("tools/x.py", ["corpus", "--a", "1", "--b"]),
        ("tools/y.py", ["-o", "f"]),
    ]
    parser = {"options": {"--a": True, "--b": False, "-o": True}, "choices": [["corpus"]]}
    assert wrong_words(["corpus", "--a", "1", "--b"], parser) == []
    assert wrong_words(["answer", "--ab", "-o", "--x"], parser) == ["--ab", "answer"]


def test_every_command_the_docs_name_runs_a_tool_with_flags_it_takes(parsers):
    wrong = {}
    for doc in DOCS:
        for script, words in commands(doc.read_text()):
            name = script.removeprefix("tools/")
            if name not in tools():
                wrong.setdefault(doc.name, []).append(f"{script}: no such script")
            elif name.endswith(".py") and (bad := wrong_words(words, parsers[name])):
                wrong.setdefault(doc.name, []).append(f"{script}: {' '.join(bad)}")
    assert wrong == {}
