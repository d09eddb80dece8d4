"""Review (s48, hdocs2): README.md read as a new user's map of the project.

- The README (1,300 lines) had no table of contents: a reader looking for finetune, serve,
  export or eval scrolled. It now opens with a contents line linking every ``##`` section.
- Every ``](#anchor)`` link, in README.md and in every other Markdown file of the repository
  (also ``](file.md#anchor)``), names a heading's GitHub anchor; every relative link names a
  file or folder that exists.
- Every ``mlx_ifp COMMAND ...`` command line the README shows (code blocks, their ``\\``
  continuations joined, and inline code spans) uses only flags that COMMAND takes.

``test_contents_links_every_section`` fails on the README it was written against (no contents);
the other checks passed on it and guard what it says from here on (each checker is shown to
fail on a made-up mistake).
"""

import re
from pathlib import Path

from mlx_ifp.cli import app

import typer.main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def markdown_files() -> list[Path]:
    """The repository's own Markdown files (not a virtual environment's or a cache's)."""
    folders = ("docs", "examples", "tools", "mlx_ifp", "tests")
    return sorted({*ROOT.glob("*.md"), *(p for f in folders for p in (ROOT / f).rglob("*.md"))})


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped but '-' and '_', spaces to
    '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a Markdown text's headings (outside code blocks; repeats get -1, -2...)."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", text).splitlines():
        m = re.match(r"#{1,6} +(.*?) *#*$", line)
        if not m:
            continue
        base = github_anchor(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(path: Path, text: str | None = None) -> list[str]:
    """The links of a Markdown file that name no file, folder or heading."""
    text = path.read_text() if text is None else text
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        where = (path.parent / file) if file else path
        if not where.exists():
            bad.append(target)
        elif anchor and where.suffix == ".md" and anchor not in anchors(where.read_text()):
            bad.append(target)
    return bad


def test_github_anchor_rule():
    """The rule gives the anchors GitHub gives these headings."""
    assert github_anchor("Training the predictor: `mlx_ifp finetune`") == (
        "training-the-predictor-mlx_ifp-finetune"
    )
    assert github_anchor("Results: the trained predictors (keep 0.5 and 0.33, SmolLM2)") == (
        "results-the-trained-predictors-keep-05-and-033-smollm2"
    )
    assert github_anchor("llama.cpp: slim GGUF vs dense GGUF") == "llamacpp-slim-gguf-vs-dense-gguf"
    assert anchors("# A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1"}


def test_contents_links_every_section():
    """Before the first section, a contents line links every ``##`` section of the README."""
    text = README.read_text()
    top = text[: text.index("\n## ")]
    linked = set(re.findall(r"\]\(#([^)]+)\)", top))
    sections = [
        github_anchor(line[3:]) for line in FENCE.sub("", text).splitlines() if line[:3] == "## "
    ]
    assert len(sections) > 10
    assert [s for s in sections if s not in linked] == []


def test_every_link_resolves(tmp_path):
    """Every relative link and anchor in README.md, docs/ and the rest names what exists."""
    files = markdown_files()
    assert README in files and len(files) > 20
    assert {str(p.relative_to(ROOT)): broken_links(p) for p in files if broken_links(p)} == {}
    made_up = tmp_path / "x.md"
    made_up.write_text("# Top\n[a](#top) [b](#gone) [c](missing.md) [d](x.md#top) [e](x.md#no)")
    assert broken_links(made_up) == ["#gone", "missing.md", "x.md#no"]


def options() -> dict[str, set[str]]:
    """Each command's flags, as its ``--help`` lists them (``data build``: "data build")."""
    found: dict[str, set[str]] = {}

    def walk(command, path):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        found[" ".join(path)] = (
            {flag for p in command.params if not getattr(p, "hidden", False) for flag in p.opts}
            | {flag for p in command.params for flag in p.secondary_opts}
            | {"--help"}
        )

    walk(typer.main.get_command(app), [])
    return found


def command_lines(text: str) -> list[tuple[str, str]]:
    """(command, its arguments) of each ``mlx_ifp COMMAND ...`` in a Markdown text: code blocks'
    lines (continuations joined, comments cut) and inline code spans."""
    lines = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M):
        lines += [line.split(" #")[0] for line in block.replace("\\\n", " ").splitlines()]
    prose = FENCE.sub("", text)
    lines += [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]
    found = []
    for line in lines:
        for m in re.finditer(r"\bmlx_ifp\)? (data build|[a-z]+)((?: +[^ |;&]+)*)", line):
            found.append((m.group(1), m.group(2)))
    return found


def unknown_flags(text: str, known: dict[str, set[str]]) -> list[str]:
    bad = []
    for command, args in command_lines(text):
        if command not in known:
            bad.append(f"mlx_ifp {command}: no such command")
            continue
        for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", args):
            if flag not in known[command]:
                bad.append(f"mlx_ifp {command} {flag}")
    return bad


def test_readme_commands_use_only_their_flags():
    """Every ``mlx_ifp`` command line of the README names only flags its ``--help`` lists."""
    known = options()
    assert {"generate", "chat", "export", "serve", "finetune", "eval", "bench", "data build"} <= (
        set(known)
    )
    text = README.read_text()
    assert len(command_lines(text)) > 40
    assert unknown_flags(text, known) == []
    made_up = "```bash\nmlx_ifp generate -p hi \\\n    --no-such 1  # --fine\n```\n`mlx_ifp evl -x`"
    assert unknown_flags(made_up, known) == [
        "mlx_ifp generate --no-such",
        "mlx_ifp evl: no such command",
    ]
