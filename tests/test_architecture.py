"""The package's layers, read from its source with `ast`: what may import what.

- A core package (vcs, index, code, traces, suspects, ranker, bisect, labels) and the core's
  shared modules never import a front end (cli, commands, lsp, hooks, hook_install, and render,
  the CLI's output): the library must work, and be testable, without any of them.
- No module imports another module's `_private` name: a name used across modules is public.
- The index is reached through `rca_lsp.index` only: nothing else reads `<index>.conn` or builds
  `<vcs-dir>/rca` by hand.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rca_lsp"
CORE_PACKAGES = {"vcs", "index", "code", "traces", "suspects", "ranker", "bisect", "labels"}
CORE_MODULES = {"types", "errors", "kinds", "records", "text", "testpaths", "failures"}
FRONT_ENDS = {"cli", "commands", "lsp", "hooks", "hook_install", "render"}  # render: `rca suspects`' output

# Private names one module may still borrow from another (each entry must still occur, so the list
# only shrinks). Empty since the VCS seam: diff parsing is shared from rca_lsp/vcs/diffparse.py.
KNOWN_PRIVATE: set[tuple[str, str, str]] = set()  # none left: the VCS seam made git.py's helpers shared


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield _module_name(path), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The imported module's full name, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    is_package = (PACKAGE / Path(*base[1:]) / "__init__.py").exists()
    keep = len(base) - node.level + (1 if is_package else 0)
    return ".".join(base[:keep] + ([node.module] if node.module else []))


def _imports(module: str, tree: ast.Module) -> Iterator[tuple[str, str | None]]:
    """(imported module, name taken from it or None) for every import, function-level ones too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                yield source, alias.name


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_core(module: str) -> bool:
    layer = _layer(module)
    return layer in CORE_PACKAGES or (layer in CORE_MODULES and module.count(".") == 1)


def _front_end(source: str, name: str | None) -> str | None:
    """The front end `source` (or `source.name`, for `from rca_lsp import cli`) is part of."""
    for candidate in (source, f"{source}.{name}" if name else None):
        if candidate and candidate.startswith("rca_lsp.") and _layer(candidate) in FRONT_ENDS:
            return _layer(candidate)
    return None


def test_the_scan_sees_the_whole_package():
    names = {module for module, _ in _modules()}
    assert {"rca_lsp.cli", "rca_lsp.lsp.server", "rca_lsp.suspects.retrieve", "rca_lsp.index.queries",
            "rca_lsp.vcs.git", "rca_lsp.hooks"} <= names
    edges = {(m, s) for m, tree in _modules() for s, _ in _imports(m, tree)}
    assert ("rca_lsp.suspects.history", "rca_lsp.index") in edges  # `from rca_lsp.index import queries`
    assert any(_is_core(m) for m in names) and not _is_core("rca_lsp.cli") and not _is_core("rca_lsp.lsp.work")


def test_no_core_module_imports_a_front_end():
    found = sorted(f"{module} imports {source}{'.' + name if name else ''}"
                   for module, tree in _modules() if _is_core(module)
                   for source, name in _imports(module, tree) if _front_end(source, name))
    assert not found, "the core must not know its front ends:\n" + "\n".join(found)


def _private_imports() -> set[tuple[str, str, str]]:
    out = set()
    for module, tree in _modules():
        for source, name in _imports(module, tree):
            if not source.startswith("rca_lsp") or source == module:
                continue
            if name and name.startswith("_") and not name.startswith("__"):
                out.add((module, source, name))
            elif name is None and any(p.startswith("_") and not p.startswith("__") for p in source.split(".")):
                out.add((module, source, "(module)"))
    return out


def test_no_module_imports_another_modules_private_name():
    found = _private_imports()
    new = sorted(found - KNOWN_PRIVATE)
    assert not new, "make these public (or keep them in their module):\n" + "\n".join(
        f"{m} imports {n} from {s}" for m, s, n in new)
    gone = sorted(KNOWN_PRIVATE - found)
    assert not gone, "fixed: remove from KNOWN_PRIVATE:\n" + "\n".join(map(str, gone))


def _outside_index() -> Iterator[tuple[str, ast.Module]]:
    return ((m, t) for m, t in _modules() if _layer(m) != "index")


def _names_an_index(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name == "index" or name.endswith("_index") or name == "Index"


def test_only_the_index_package_touches_the_index_connection():
    found = sorted(f"{m}:{node.lineno}" for m, tree in _outside_index() for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr in ("conn", "db") and _names_an_index(node.value))
    assert not found, "ask rca_lsp.index.queries (a named function) instead:\n" + "\n".join(found)


def test_only_the_index_package_names_the_rca_folder():
    found = sorted(f"{m}:{node.lineno}" for m, tree in _outside_index() for node in ast.walk(tree)
                   if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                   and isinstance(node.right, ast.Constant) and node.right.value == "rca")
    assert not found, "use rca_lsp.index.paths.index_dir:\n" + "\n".join(found)
