"""A version parsed from the file's previous version and its tree (tree-sitter's incremental parse)
gives the tree a parse from nothing gives: edits told by a zero-context diff's hunks, by one span
when the hunks are refused, and along a real git history through the index's symbol cache."""

from __future__ import annotations

import difflib
import random
from pathlib import Path

import pytest

from rca_lsp.code.parse import _hunk_edits, parse
from rca_lsp.code.symbols import symbols
from rca_lsp.index.symbols import SymbolCache, SymbolTable, blobs_needed
from rca_lsp.vcs import open_repo

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [(ROOT / "rca_lsp" / "index" / "ingest.py", "python"), (ROOT / "rca_lsp" / "cli.py", "python"),
           (ROOT / "tests" / "fixtures" / "jacoco" / "src" / "main" / "java" / "com" / "example" / "calc" / "Calc.java",
            "java")]


def _nodes(tree) -> list[tuple]:
    """Every node of `tree`, in order, with its type, bytes and (row, column) points."""
    out, cursor, more = [], tree.walk(), True
    while more:
        node = cursor.node
        out.append((node.type, node.start_byte, node.end_byte, tuple(node.start_point), tuple(node.end_point)))
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                more = False
                break
    return out


def _hunks(old: bytes, new: bytes) -> list[tuple[int, int, int, int]]:
    """The hunks `git diff --unified=0` gives: a side with no lines numbers the line before it."""
    out = []
    matcher = difflib.SequenceMatcher(None, old.splitlines(keepends=True), new.splitlines(keepends=True), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out.append((i1 + 1 if i2 > i1 else i1, i2 - i1, j1 + 1 if j2 > j1 else j1, j2 - j1))
    return out


def _edited(lines: list[bytes], rng: random.Random) -> list[bytes]:
    """A few lines dropped, added or changed, some at the ends (where the numbering has its edges)."""
    lines = list(lines)
    for _ in range(rng.randint(1, 6)):
        at = rng.choice([0, len(lines), rng.randint(0, len(lines))])
        kind = rng.choice(["drop", "add", "change"])
        if kind == "drop" and lines:
            del lines[min(at, len(lines) - 1):min(at, len(lines) - 1) + rng.randint(1, 3)]
        elif kind == "add":
            lines[at:at] = [b"# a note\n", b"def added():\n", b"    return 2\n"][:rng.randint(1, 3)]
        elif lines:
            lines[min(at, len(lines) - 1)] = b"y = 3  # changed\n"
    return lines


@pytest.mark.parametrize("path, language", SOURCES, ids=lambda v: Path(v).name if isinstance(v, Path) else v)
def test_a_version_parsed_from_the_last_is_the_tree_parsed_from_nothing(path: Path, language: str) -> None:
    rng = random.Random(7)
    old = path.read_bytes()
    tree = parse(old, language)
    for _ in range(30):
        new = b"".join(_edited(old.splitlines(keepends=True), rng))
        if rng.random() < 0.2:
            new = new.rstrip(b"\n")  # no newline at the end of the file
        fresh = parse(new, language)
        hunks = _hunks(old, new)
        assert _hunk_edits(old, new, hunks) or not hunks
        again = parse(new, language, (old, tree), hunks if rng.random() < 0.7 else None)
        assert _nodes(again) == _nodes(fresh)
        old, tree = new, again


def test_hunks_that_do_not_describe_the_two_versions_are_refused() -> None:
    old = b"a\nb\nc\nd\n"
    new = b"a\nB\nc\nD\n"
    assert len(_hunk_edits(old, new, [(2, 1, 2, 1), (4, 1, 4, 1)])) == 2
    assert _hunk_edits(old, new, [(2, 1, 2, 1)]) == []  # line 4 differs outside every hunk
    assert _hunk_edits(old, new, [(3, 1, 3, 1), (4, 1, 4, 1)]) == []  # line 2 differs outside them
    source = (ROOT / "rca_lsp" / "cli.py").read_bytes()
    changed = source.replace(b"def ", b"def  ", 1)
    wrong = [(1, 1, 1, 1)]  # a hunk of another change: refused, then one span serves
    assert _hunk_edits(source, changed, wrong) == []
    assert _nodes(parse(changed, "python", (source, parse(source, "python")), wrong)) == \
        _nodes(parse(changed, "python"))


def test_the_symbol_cache_parses_along_a_history_as_from_nothing(git_repo) -> None:
    """Every version of a file along a real history: the cache that parses each from the one before
    (its change's hunks) gives the symbols of a parse from nothing."""
    rng = random.Random(3)
    lines = (ROOT / "rca_lsp" / "index" / "ingest.py").read_bytes().splitlines(keepends=True)
    for i in range(12):
        lines = _edited(lines, rng)
        git_repo.commit(f"edit {i}", {"pkg/ingest.py": b"".join(lines).decode()})
    repo = open_repo(git_repo.root)
    cache = SymbolCache(repo)
    checked = found = 0
    for item in repo.log(list(reversed(repo.reachable()))):
        for change in item.changes:
            for blob, language, path, base in blobs_needed(change):
                assert base is None or base[0] == change.old_blob  # the new version's base: the old one
                table = cache.table(blob, language, path, base)
                data = repo.blob_reader().get(blob)
                assert table == SymbolTable.build(symbols(data, language))
                checked += 1
                found += len(table.leaves)
    cache.close()
    assert checked >= 12 and found >= checked  # versions with functions in them, not parse errors alone
