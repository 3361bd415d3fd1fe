"""More shapes of regression for the training data (scripts/dataset_build.py): a dropped
statement, swapped call arguments, a wrong variable, a changed default, a removed branch, a
slice bound off by one. Each returns column edits of one line, found with the ast; the caller
(`pytrack_mutations.mutations_of_line`) checks that the mutant compiles and changes the ast.
Standard library only.
"""

from __future__ import annotations

import ast

Edit = list[tuple[int, int, str]]
SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Raise, ast.Delete)
ATOMIC = (ast.Name, ast.Constant, ast.Attribute, ast.Call, ast.Subscript)
MAX_WRONG_VARS = 4  # alternatives per line: the nearest other locals of the function


def byte_to_char(line: str, col: int) -> int:
    """ast columns are UTF-8 byte offsets; tokenize's are characters."""
    return len(line.encode("utf-8")[:col].decode("utf-8", "replace"))


def _span(line: str, node: ast.AST) -> tuple[int, int]:
    return byte_to_char(line, node.col_offset), byte_to_char(line, node.end_col_offset)


def _on_line(node: ast.AST, lineno: int) -> bool:
    return getattr(node, "lineno", None) == lineno and getattr(node, "end_lineno", None) == lineno


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _drop_stmt(tree: ast.AST, lineno: int, line: str) -> list[Edit]:
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, SIMPLE) or not _on_line(node, lineno):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring or a bare constant
        parent = parents.get(node)
        if isinstance(parent, ast.If) and parent.body == [node]:
            continue  # body_to_pass's case
        a, b = _span(line, node)
        rest = line[b:].strip()
        if line[:a].strip() == "" and (rest == "" or rest.startswith("#")):
            found.append([(a, b, "pass")])
    return found


def _swap_args(tree: ast.AST, lineno: int, line: str) -> list[Edit]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _on_line(node, lineno) and len(node.args) >= 2:
            first, second = node.args[0], node.args[1]
            if isinstance(first, ast.Starred) or isinstance(second, ast.Starred):
                continue
            (a1, b1), (a2, b2) = _span(line, first), _span(line, second)
            if line[a1:b1] != line[a2:b2]:
                found.append([(a1, b1, line[a2:b2]), (a2, b2, line[a1:b1])])
    return found


def _locals_of(func: ast.AST) -> dict[str, int]:
    """Parameters and assigned names of a function, with the line each first appears on."""
    names: dict[str, int] = {}
    args = func.args  # type: ignore[attr-defined]
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None and arg.arg not in ("self", "cls"):
            names.setdefault(arg.arg, func.lineno)  # type: ignore[attr-defined]
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.setdefault(node.id, node.lineno)
    return names


def _wrong_var(tree: ast.AST, lineno: int, line: str) -> list[Edit]:
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.lineno <= lineno <= (n.end_lineno or n.lineno)]
    if not funcs:
        return []
    func = min(funcs, key=lambda f: (f.end_lineno or f.lineno) - f.lineno)  # the innermost
    local = _locals_of(func)
    found = []
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and _on_line(node, lineno) \
                and node.id in local:
            # names bound before this line: a wrong variable, not an unbound one
            others = sorted((n for n in local if n != node.id and local[n] <= lineno),
                            key=lambda n: (abs(local[n] - lineno), n))
            a, b = _span(line, node)
            found.extend([(a, b, other)] for other in others[:2])
    return found[:MAX_WRONG_VARS]


def _changed_value(value: ast.AST) -> str | None:
    if not isinstance(value, ast.Constant):
        return None
    v = value.value
    if isinstance(v, bool):
        return repr(not v)
    if isinstance(v, int):
        return str(v + 1)
    if isinstance(v, str):
        return "''" if v else "' '"
    if v is None:
        return "False"
    return None


def _change_default(tree: ast.AST, lineno: int, line: str) -> list[Edit]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
            new = _changed_value(default) if _on_line(default, lineno) else None
            if new is not None:
                a, b = _span(line, default)
                found.append([(a, b, new)])
    return found


def _remove_branch(tree: ast.AST, lineno: int, line: str) -> list[Edit]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and node.lineno == lineno and _on_line(node.test, lineno):
            a, b = _span(line, node.test)
            found.append([(a, b, "False")])
    return found


def _slice_bound(tree: ast.AST, lineno: int, line: str) -> list[Edit]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Slice) or not _on_line(node, lineno):
            continue
        for bound, delta in ((node.lower, " + 1"), (node.upper, " - 1")):
            if bound is None or isinstance(bound, ast.Constant) or (
                    isinstance(bound, ast.UnaryOp) and isinstance(bound.operand, ast.Constant)):
                continue  # constants are off_by_one's
            a, b = _span(line, bound)
            text = line[a:b] if isinstance(bound, ATOMIC) else f"({line[a:b]})"
            found.append([(a, b, text + delta)])
    return found


FINDERS = {"drop_stmt": _drop_stmt, "swap_args": _swap_args, "wrong_var": _wrong_var,
           "change_default": _change_default, "remove_branch": _remove_branch, "slice_bound": _slice_bound}


def more_edits(tree: ast.AST, lineno: int, line: str, operator: str) -> list[Edit]:
    """Candidate edits of line `lineno` (character columns) for one of the operators above."""
    return FINDERS[operator](tree, lineno, line)
