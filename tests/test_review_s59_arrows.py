"""README "How it works" and "Architecture" name only files and folders of the package, and
the coupling paragraph gives today's arrow and file counts.

Failed before: the fifty-ninth session's mask-diversity move (70fcced) named its new module
``train/watch.py`` in the table and ``train/watch`` in the training diagram; the module is
``train/diversity.py``, and no ``watch`` exists; and the paragraph said "between 60 files" of 61.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlx_ifp"
STAGES = "train|data|core|models|sources|inference|convert|evaluation|bench|cli|serve"


def section(title: str) -> str:
    """The README's text from ``## title`` to the next ``## `` heading."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def table_names(text: str) -> list[str]:
    """The package paths the module column of the "How it works" table names: a folder token
    (``train/``) is the folder of the bare file names after it (``loop.py``)."""
    named = []
    for row in re.findall(r"^\| [^|]+ \| ([^|]+) \|", text, flags=re.M)[1:]:
        folder = ""
        for token in re.findall(r"`([^`]+)`", row):
            if token.endswith("/") and (PACKAGE / token).is_dir():
                folder = token
                named.append(token)
            elif "/" in token.rstrip("/"):
                named.append(token)
            else:
                named.append(folder + token)
    return named


def test_the_how_it_works_table_names_existing_files():
    named = table_names(section("How it works"))
    assert "train/loop.py" in named and "models/device.py" in named, named  # parsed
    missing = [n for n in named if not (PACKAGE / n).exists()]
    assert not missing, missing


def test_the_architecture_diagram_names_existing_modules():
    found = re.findall(rf"\b((?:{STAGES})/[a-z_]+)\b", section("Architecture"))
    assert "train/loop" in found, found  # parsed
    missing = [m for m in found if not any((PACKAGE / p).exists() for p in (m, f"{m}.py"))]
    assert not missing, missing


def test_the_coupling_paragraph_gives_todays_count():
    """It said 154 arrows "between 60 files" after train/diversity.py made 61."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import import_graph

    result = import_graph.report(PACKAGE)
    text = " ".join(section("Architecture").split())
    said = re.search(r"counts (\d+) file-to-file import arrows \([^)]*\) between (\d+) files", text)
    assert said, "the coupling paragraph moved"
    assert (int(said[1]), int(said[2])) == (result["arrows"], result["files"]), said[0]
