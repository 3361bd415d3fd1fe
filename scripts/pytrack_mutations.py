"""Semantic mutations of one source line, for the Python-track benchmark (scripts/pytrack_cases.py).

Each operator changes what a line means, not how it is spelt, and is checked by `tokenize` and
`ast` so the mutant still compiles: comparison flip, and/or swap, dropped `not`, integer off by
one, True/False swap, +/- swap, negated if/while condition, sole if-body statement -> `pass`.
Docstrings, comments and strings are never touched. Standard library only.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from pytrack_more import byte_to_char, more_edits

CMP_FLIP = {"<": ">=", ">": "<=", "<=": ">", ">=": "<", "==": "!=", "!=": "=="}
OPERATORS = ("cmp_flip", "boolop_swap", "drop_not", "off_by_one", "bool_swap", "arith_swap",
             "negate_cond", "body_to_pass")
# Regressions of other shapes, for the training data (scripts/dataset_build.py); the Python-track
# benchmark keeps OPERATORS alone, so its cases rebuild identically.
MORE_OPERATORS = ("drop_stmt", "swap_args", "wrong_var", "change_default", "remove_branch", "slice_bound")
ALL_OPERATORS = OPERATORS + MORE_OPERATORS


@dataclass(frozen=True)
class Mutation:
    operator: str
    line: int  # 1-based
    before: str
    after: str


def _line_tokens(source: str, lineno: int) -> list[tokenize.TokenInfo]:
    toks = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.start[0] > lineno:
            break
        if tok.start[0] == lineno and tok.end[0] == lineno:
            toks.append(tok)
    return toks


def _splice(line: str, edits: list[tuple[int, int, str]]) -> str:
    for a, b, text in sorted(edits, reverse=True):
        line = line[:a] + text + line[b:]
    return line


def _token_edits(line: str, toks: list[tokenize.TokenInfo], operator: str) -> list[list[tuple[int, int, str]]]:
    """Candidate edits of one line (column spans) for a token-level operator."""
    code = [t for t in toks if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                               tokenize.INDENT, tokenize.DEDENT)]
    found: list[list[tuple[int, int, str]]] = []
    for i, t in enumerate(code):
        prev = code[i - 1] if i else None
        nxt = code[i + 1] if i + 1 < len(code) else None
        a, b = t.start[1], t.end[1]
        if operator == "cmp_flip":
            if t.type == tokenize.OP and t.string in CMP_FLIP:
                found.append([(a, b, CMP_FLIP[t.string])])
            elif t.string == "is" and t.type == tokenize.NAME:
                if nxt is not None and nxt.string == "not":
                    found.append([(a, nxt.end[1], "is")])
                else:
                    found.append([(a, b, "is not")])
            elif t.string == "in" and t.type == tokenize.NAME:
                if prev is not None and prev.string == "not":
                    found.append([(prev.start[1], b, "in")])
                else:
                    found.append([(a, b, "not in")])
        elif operator == "boolop_swap" and t.type == tokenize.NAME and t.string in ("and", "or"):
            found.append([(a, b, "or" if t.string == "and" else "and")])
        elif operator == "drop_not" and t.type == tokenize.NAME and t.string == "not":
            if (nxt is not None and nxt.string == "in") or (prev is not None and prev.string == "is"):
                continue
            end = nxt.start[1] if nxt is not None else b
            found.append([(a, end, "")])
        elif operator == "off_by_one" and t.type == tokenize.NUMBER and re.fullmatch(r"\d+", t.string):
            v = int(t.string)
            found.append([(a, b, str(v + 1))])
            if v > 0:
                found.append([(a, b, str(v - 1))])
        elif operator == "bool_swap" and t.type == tokenize.NAME and t.string in ("True", "False"):
            found.append([(a, b, "False" if t.string == "True" else "True")])
        elif operator == "arith_swap" and t.type == tokenize.OP and t.string in ("+", "-", "+=", "-="):
            binary = prev is not None and (prev.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
                                           or prev.string in (")", "]", "}"))
            if t.string in ("+=", "-=") or binary:
                swap = {"+": "-", "-": "+", "+=": "-=", "-=": "+="}[t.string]
                found.append([(a, b, swap)])
    return found


def _stmt_edits(source: str, tree: ast.AST, lineno: int, line: str, toks: list[tokenize.TokenInfo],
                operator: str) -> list[list[tuple[int, int, str]]]:
    """Statement-level operators, found with the ast."""
    found: list[list[tuple[int, int, str]]] = []
    for node in ast.walk(tree):
        if operator == "negate_cond" and isinstance(node, (ast.If, ast.While)) and node.lineno == lineno:
            test = node.test
            if test.lineno == test.end_lineno == lineno:
                a, b = _byte_to_char(line, test.col_offset), _byte_to_char(line, test.end_col_offset)
                found.append([(a, b, "not (" + line[a:b] + ")")])
        elif operator == "body_to_pass" and isinstance(node, ast.If) and len(node.body) == 1:
            stmt = node.body[0]
            a = _byte_to_char(line, stmt.col_offset)
            if (stmt.lineno == stmt.end_lineno == lineno and stmt.lineno != node.lineno
                    and not isinstance(stmt, ast.Pass) and line[:a].strip() == ""):
                found.append([(a, len(line.rstrip("\r\n")), "pass")])
    return found


_byte_to_char = byte_to_char


def mutations_of_line(source: str, lineno: int, operators: tuple[str, ...] = OPERATORS) -> list[Mutation]:
    """Every mutation of line `lineno` by `operators` that still compiles and changes the module's ast."""
    lines = source.splitlines(keepends=True)
    if not 1 <= lineno <= len(lines):
        return []
    line = lines[lineno - 1]
    try:
        tree = ast.parse(source)
        toks = _line_tokens(source, lineno)
    except (SyntaxError, tokenize.TokenError, ValueError):
        return []
    original = ast.dump(tree)
    result = []
    for op in operators:
        if op in MORE_OPERATORS:
            edits = more_edits(tree, lineno, line, op)
        elif op in ("negate_cond", "body_to_pass"):
            edits = _stmt_edits(source, tree, lineno, line, toks, op)
        else:
            edits = _token_edits(line, toks, op)
        for edit in edits:
            new_line = _splice(line, edit)
            if new_line == line:
                continue
            new_source = "".join(lines[:lineno - 1] + [new_line] + lines[lineno:])
            try:
                compile(new_source, "<mutant>", "exec")
                changed = ast.dump(ast.parse(new_source)) != original
            except (SyntaxError, ValueError):
                continue
            if changed:
                result.append(Mutation(op, lineno, line.rstrip("\r\n"), new_line.rstrip("\r\n")))
    return result


def apply_mutation(source: str, m: Mutation) -> str:
    lines = source.splitlines(keepends=True)
    old = lines[m.line - 1]
    if old.rstrip("\r\n") != m.before:
        raise ValueError(f"line {m.line} is not {m.before!r}")
    lines[m.line - 1] = m.after + old[len(old.rstrip("\r\n")):]
    return "".join(lines)
