"""Count the file-to-file import arrows inside a package and find its import cycles.

An arrow is one distinct (importing file -> imported file) pair, from module-level and
function-level ``import``/``from ... import`` statements alike; ``from ..core import ffn`` points
at ``core/ffn.py`` (a submodule), ``from ..core import Budget`` at ``core/__init__.py``. The
implicit import of a parent ``__init__.py`` and string imports (``importlib``) are not arrows.
Cycles are the strongly connected components of the graph: once over the imports that run at
import time (module level, outside ``if TYPE_CHECKING``), once over all of them. Prints JSON,
then a table (arrows out and in per file) to stderr.

``--merge NEW=OLD,OLD`` (repeatable) adds a what-if: the same arrows as if those files were one
file NEW (paths below the package), recounted, with the merged graph's cycles and the files
that would pass 400 lines. It reads today's imports: a merge that also removes dependencies
would do better than it says.

    python tools/import_graph.py [mlx_ifp] [--edges] [--merge core/__init__.py=core/prompt.py]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path


def module_names(root: Path) -> dict[tuple[str, ...], Path]:
    """Every module of the package under ``root``, by dotted name as a tuple."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        names[parts[:-1] if parts[-1] == "__init__" else parts] = path
    return names


def scoped_imports(tree: ast.Module):
    """Yield ``(node, module_level)`` for every import statement in ``tree``."""

    def walk(node, module_level):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, module_level
            inner = module_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = False
            yield from walk(child, inner)

    yield from walk(tree, True)


def targets(node, package: tuple[str, ...], names) -> set[tuple[str, ...]]:
    """The package modules that one import statement, in a module of ``package``, reads."""
    found = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = tuple(alias.name.split("."))
            if parts in names:
                found.add(parts)
        return found
    base = package[: len(package) - node.level + 1] if node.level else ()
    module = (*base, *(node.module.split(".") if node.module else ()))
    for alias in node.names:
        if (*module, alias.name) in names:
            found.add((*module, alias.name))
        elif module in names:
            found.add(module)
    return found


def graph(root: Path) -> tuple[dict, dict]:
    """Arrows ``{file: {file, ...}}``: all of them, and the module-level ones."""
    names = module_names(root)
    every, module_level = {}, {}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name[:-1]
        key = str(path)
        every.setdefault(key, set())
        module_level.setdefault(key, set())
        for node, at_top in scoped_imports(ast.parse(path.read_text(), str(path))):
            for target in targets(node, package, names):
                if target != name:
                    every[key].add(str(names[target]))
                    if at_top:
                        module_level[key].add(str(names[target]))
    return every, module_level


def cycles(arrows: dict) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in arrows.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(arrows):
        if v not in index:
            visit(v)
    return found


def report(root: Path) -> dict:
    """The counts, cycles and arrows as one JSON-ready dict."""
    every, module_level = graph(root)
    return {
        "package": str(root),
        "files": len(every),
        "arrows": sum(map(len, every.values())),
        "arrows_module_level": sum(map(len, module_level.values())),
        "cycles_module_level": cycles(module_level),
        "cycles_all": cycles(every),
        "stage_arrows": stage_arrows(every, root),
        "edges": {k: sorted(v) for k, v in sorted(every.items()) if v},
    }


def merged(root: Path, merges: dict[str, list[str]], max_lines: int = 400) -> dict:
    """The arrows, files, cycles (all imports) and oversize files if each ``NEW: [OLD, ...]``
    of ``merges`` (paths relative to ``root``) were one file."""
    every, _ = graph(root)
    into = {str(root / old): str(root / new) for new, olds in merges.items() for old in olds}
    unknown = sorted(k for k in into if k not in every)
    if unknown:
        raise SystemExit(f"--merge: no such file in the package: {', '.join(unknown)}")
    f = lambda path: into.get(path, path)  # noqa: E731
    arrows: dict[str, set] = {}
    for a, dests in every.items():
        arrows.setdefault(f(a), set()).update(f(b) for b in dests if f(b) != f(a))
    lines: dict[str, int] = {}
    for path in every:
        lines[f(path)] = lines.get(f(path), 0) + len(Path(path).read_text().splitlines())
    return {
        "arrows": sum(map(len, arrows.values())),
        "files": len(arrows),
        "cycles": cycles(arrows),
        "over_400_lines": {k: n for k, n in sorted(lines.items()) if n > max_lines},
    }


def stage(path: str, root: Path) -> str:
    """The stage (first folder below the package, or the top-level module) a file belongs to."""
    parts = Path(path).relative_to(root).parts
    return parts[0].removesuffix(".py")


def stage_arrows(every: dict, root: Path) -> list[str]:
    """Distinct arrows between stages (subpackages and top-level modules), e.g. "train -> core"."""
    pairs = {(stage(a, root), stage(b, root)) for a, dests in every.items() for b in dests}
    return sorted(f"{a} -> {b}" for a, b in pairs if a != b)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", default="mlx_ifp", help="the package folder")
    parser.add_argument("--edges", action="store_true", help="include every arrow in the JSON")
    parser.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="NEW=OLD,OLD",
        help="what if these files (below the package) were one file NEW (repeatable)",
    )
    args = parser.parse_args(argv)
    result = report(Path(args.package))
    plan = {}
    for spec in args.merge:
        new, _, olds = spec.partition("=")
        if not new or not olds:
            parser.error(f"--merge takes NEW=OLD[,OLD...], not {spec!r}")
        plan.setdefault(new, []).extend(o for o in olds.split(",") if o)
    if plan:
        result["merged"] = merged(Path(args.package), plan)
    edges = result["edges"] if args.edges else None
    shown = {k: v for k, v in result.items() if k != "edges"} | ({"edges": edges} if edges else {})
    print(json.dumps(shown, indent=1))
    into: dict[str, int] = {}
    for dests in result["edges"].values():
        for d in dests:
            into[d] = into.get(d, 0) + 1
    files = sorted({*result["edges"], *into})
    width = max(map(len, files), default=4)
    print(f"{'file':<{width}}  out  in", file=sys.stderr)
    for f in files:
        print(
            f"{f:<{width}}  {len(result['edges'].get(f, ())):>3} {into.get(f, 0):>3}",
            file=sys.stderr,
        )
    print(
        f"{result['arrows']} arrows ({result['arrows_module_level']} module-level) between "
        f"{result['files']} files; cycles: {len(result['cycles_module_level'])} module-level, "
        f"{len(result['cycles_all'])} with function-level imports; "
        f"{len(result['stage_arrows'])} arrows between stages (folders)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
