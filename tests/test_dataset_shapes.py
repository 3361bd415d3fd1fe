"""scripts/dataset_build.py's regressions: the six further shapes, their taking in turn and the cap
per window, and the replay of a window whose picks conflict (resolved outside code for training
data only), on real source and real git."""

from __future__ import annotations

import ast

from _reliability import load
from conftest import GitRepoBuilder

mu = load("pytrack_mutations")
gi = load("pytrack_git")
pc = load("pytrack_cases")


SOURCE = '''def f(a, b=3, *, flag=True, name=None):
    total = a + b
    g(a, b)
    x = items[a:total]
    if a > b:
        total += 1
    elif flag:
        return total
    return total
'''


def shapes(lineno: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for m in mu.mutations_of_line(SOURCE, lineno, mu.MORE_OPERATORS):
        found.setdefault(m.operator, set()).add(m.after.strip())
    return found


def test_the_six_further_shapes_each_where_they_apply():
    assert shapes(1)["change_default"] == {"def f(a, b=4, *, flag=True, name=None):",
                                           "def f(a, b=3, *, flag=False, name=None):",
                                           "def f(a, b=3, *, flag=True, name=False):"}
    assert shapes(2)["drop_stmt"] == {"pass"}
    assert shapes(3)["swap_args"] == {"g(b, a)"}
    assert shapes(4)["slice_bound"] == {"x = items[a + 1:total]", "x = items[a:total - 1]"}
    assert shapes(5)["remove_branch"] == {"if False:"} and shapes(7)["remove_branch"] == {"elif False:"}
    assert "drop_stmt" not in shapes(6)  # the sole body of an if is body_to_pass's
    # the benchmark's operators alone are the default: its cases rebuild as before
    assert not {m.operator for m in mu.mutations_of_line(SOURCE, 3)} & set(mu.MORE_OPERATORS)


def test_a_wrong_variable_is_one_bound_before_the_line():
    wrong = shapes(3)["wrong_var"]
    assert wrong and all("x" not in w.split("(")[1] for w in wrong)  # x is bound on line 4, after
    assert "g(total, b)" in wrong


def test_every_further_mutant_compiles_keeps_its_lines_and_changes_the_ast():
    original = ast.dump(ast.parse(SOURCE))
    for lineno in range(1, SOURCE.count("\n") + 1):
        for m in mu.mutations_of_line(SOURCE, lineno, mu.ALL_OPERATORS):
            mutated = mu.apply_mutation(SOURCE, m)
            assert ast.dump(ast.parse(mutated)) != original
            assert mutated.count("\n") == SOURCE.count("\n")


def test_shapes_are_taken_in_turn():
    cands = [pc.Candidate(1, "m.py", i, "m.py", i, mu.Mutation(op, i, "a", "b"))
             for i, op in enumerate(["wrong_var"] * 5 + ["cmp_flip", "drop_stmt"])]
    ops = [c.mutation.operator for c in pc.by_operator(cands)]
    assert ops[:3] == ["wrong_var", "cmp_flip", "drop_stmt"] and ops[3:] == ["wrong_var"] * 4


def test_a_window_takes_at_most_the_cap_of_one_shape():
    cases = [{"mutation": {"operator": op}} for op in ["wrong_var", "wrong_var", "drop_stmt"]]
    assert pc.shape_full(cases, "wrong_var", 2) and not pc.shape_full(cases, "drop_stmt", 2)
    assert not pc.shape_full(cases, "wrong_var", 3) and not pc.shape_full(cases, "cmp_flip", 1)
    assert not pc.shape_full(cases, "wrong_var", 0)  # 0: no cap, as windows built before the cap


def _conflicting(repo: GitRepoBuilder, path: str) -> tuple[str, str]:
    """main and a side branch both change `path` after a common base; (main's head, side's commit)."""
    repo.commit("base", {"CHANGES.rst": "v1\n", "lib.py": "x = 1\n"})
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit("side", {path: "side\n" if path.endswith(".rst") else "x = 2\n", "new.txt": "n\n"})
    repo.git("checkout", "-q", "main")
    head = repo.commit("main", {path: "main\n" if path.endswith(".rst") else "x = 3\n"})
    return head, side


def test_a_conflict_outside_code_is_resolved_only_for_training_data(make_git_repo):
    repo = make_git_repo("docs")
    head, side = _conflicting(repo, "CHANGES.rst")
    try:
        gi.RESOLVE_NON_CODE = False
        assert gi.linearise(repo.root, head, [side]) is None  # the benchmark's rule: dropped
        gi.RESOLVE_NON_CODE = True
        made = gi.linearise(repo.root, head, [side])
    finally:
        gi.RESOLVE_NON_CODE = False
    assert made and len(made) == 1
    assert repo.git("show", f"{made[0]}:CHANGES.rst") == "side\n"
    assert repo.git("show", f"{made[0]}:new.txt") == "n\n"
    assert repo.git("log", "-1", "--format=%s", made[0]).strip() == "side"


def test_a_conflict_in_code_still_drops_the_window(make_git_repo):
    repo = make_git_repo("code")
    head, side = _conflicting(repo, "lib.py")
    try:
        gi.RESOLVE_NON_CODE = True
        assert gi.linearise(repo.root, head, [side]) is None
    finally:
        gi.RESOLVE_NON_CODE = False
    assert repo.git("status", "--porcelain") == ""  # the work tree is left clean
