"""Review (s57, docs): what the link check of ``test_review_s48_hdocs2`` does not see.

That test follows Markdown links, ``[text](target)``. It does not follow HTML ones, ``<img
src="...">`` and ``<a href="...">`` (the README's mask-overlap pictures are such), nor the
paths a reader is told in code spans (``docs/results/reroute/repick_cost_s31.json``,
``inference/repick.py``, ``examples/ifp_stage{1,2}.yaml``), which are most of the README's
references to its evidence. Here:

- every relative ``src=``/``href=`` of README.md and docs/*.md names a file that exists;
- every path the README names in a code span under one of the repository's folders (or a
  module path below ``mlx_ifp/``, ``core/ffn.py``) exists, ``{a,b}`` expanded.

Both passed on the README and docs they were written against (nothing was broken there); each
checker is shown to fail on a made-up mistake, and both failed on a copy of README.md with one
path and one picture renamed (the report says how).
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
TOP = ("docs/", "tools/", "examples/", "mlx_ifp/", "tests/", ".ci/")
STAGES = "core|models|sources|inference|train|data|evaluation|bench|cli|serve|convert"


def docs() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def broken_html_links(path: Path, text: str | None = None) -> list[str]:
    """The relative ``src=``/``href=`` targets of a Markdown file's HTML that name nothing."""
    text = path.read_text() if text is None else text
    bad = []
    for target in re.findall(r"""<[a-zA-Z]+\s[^>]*?\b(?:src|href)=["']([^"']+)["']""", text):
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):  # https:, mailto:, an anchor
            continue
        if not (path.parent / target.split("#")[0]).exists():
            bad.append(target)
    return bad


def expand(token: str) -> list[str]:
    """``a{1,2}b`` -> ``a1b``, ``a2b`` (each brace group in turn)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", token)
    if not m:
        return [token]
    head, tail = token[: m.start()], token[m.end() :]
    return [x for part in m.group(1).split(",") for x in expand(head + part + tail)]


def named_paths(text: str) -> list[str]:
    """The repository paths a Markdown text names in its prose's code spans: under one of the
    top folders, or a module path below ``mlx_ifp/`` (placeholders, globs and ``...`` left out)."""
    found = []
    for span in re.findall(r"`([^`]+)`", FENCE.sub("", text)):  # (a span may wrap)
        for token in re.split(r"[\s;()]+", span):
            token = token.strip("\"'.,:")
            if not token or re.search(r"[*<>$]|\.\.\.|[A-Z]{2,}", token):
                continue
            if token.startswith(TOP) or re.fullmatch(rf"(?:{STAGES})/[\w/]+\.py", token):
                found += [t.split("#")[0].split("::")[0] for t in expand(token)]
    return found


def missing_paths(text: str) -> list[str]:
    bases = (ROOT, ROOT / "mlx_ifp")
    return [p for p in named_paths(text) if not any((b / p).exists() for b in bases)]


def test_every_html_link_resolves(tmp_path):
    broken = {str(p.relative_to(ROOT)): broken_html_links(p) for p in docs()}
    assert {name: bad for name, bad in broken.items() if bad} == {}
    assert "docs/mask-overlap-predictor.png" in README.read_text()  # (one there to check)
    made_up = tmp_path / "x.md"
    made_up.write_text('<img src="x.md" width="9%"> <img src="gone.png"> <a href="https://a.b/c">')
    assert broken_html_links(made_up) == ["gone.png"]


def test_every_path_the_readme_names_exists():
    text = README.read_text()
    assert len(named_paths(text)) > 100
    assert missing_paths(text) == []
    made_up = "`docs/results/gone.json`, `tools/{side_by_side,nope}.py` `core/ffn.py` `RUN/x`\n"
    assert missing_paths(made_up) == ["docs/results/gone.json", "tools/nope.py"]
    assert "examples/ifp_stage1.yaml" in named_paths("`examples/ifp_stage{1,2}.yaml`")
