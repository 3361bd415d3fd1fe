"""scripts/pytrack_cases.py: the mutation operators, and window linearisation and mutation
replay on small real git repositories."""

from __future__ import annotations

import ast
import random
import sys
from pathlib import Path

from _reliability import load
from conftest import GitRepoBuilder

pt = load("pytrack_cases")
mu = load("pytrack_mutations")
gi = load("pytrack_git")
py = load("pytrack_pytest")

SOURCE = '''"""Module docstring: if a < b and not c."""


def f(a, b, items):
    # a comment: x == 1
    if a < b and not a:
        return a + 1
    kept = [i for i in items if i is not None]
    while a >= 0:
        a -= 1
    return True, "é" == kept
'''


def by_line(source: str, lineno: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for m in mu.mutations_of_line(source, lineno):
        found.setdefault(m.operator, set()).add(m.after)
    return found


def test_operators_on_one_line_each():
    assert by_line(SOURCE, 6) == {
        "cmp_flip": {"    if a >= b and not a:"},
        "boolop_swap": {"    if a < b or not a:"},
        "drop_not": {"    if a < b and a:"},
        "negate_cond": {"    if not (a < b and not a):"},
    }
    assert by_line(SOURCE, 7) == {
        "off_by_one": {"        return a + 2", "        return a + 0"},
        "arith_swap": {"        return a - 1"},
        "body_to_pass": {"        pass"},
    }
    # `for i in` cannot become `not in`; the comparison `is not` can become `is`
    assert by_line(SOURCE, 8) == {"cmp_flip": {"    kept = [i for i in items if i is None]"}}
    assert by_line(SOURCE, 10)["arith_swap"] == {"        a += 1"}
    # columns after a non-ASCII character stay right
    assert by_line(SOURCE, 11) == {
        "cmp_flip": {'    return True, "é" != kept'},
        "bool_swap": {'    return False, "é" == kept'},
    }


def test_docstrings_comments_and_blank_lines_are_not_mutated():
    for lineno in (1, 2, 5):
        assert mu.mutations_of_line(SOURCE, lineno) == []
    assert mu.mutations_of_line(SOURCE, 99) == []
    assert mu.mutations_of_line("def broken(:\n    return 1\n", 2) == []


def test_every_mutation_compiles_and_changes_the_ast():
    original = ast.dump(ast.parse(SOURCE))
    count = 0
    for lineno in range(1, SOURCE.count("\n") + 1):
        for m in mu.mutations_of_line(SOURCE, lineno):
            mutated = mu.apply_mutation(SOURCE, m)
            assert mutated.splitlines()[lineno - 1] == m.after
            assert ast.dump(ast.parse(mutated)) != original
            assert mutated.count("\n") == SOURCE.count("\n")
            count += 1
    assert count >= 14


def test_apply_mutation_checks_the_line():
    m = mu.mutations_of_line(SOURCE, 9)[0]
    try:
        mu.apply_mutation(SOURCE.replace("a >= 0", "a >= 5"), m)
    except ValueError:
        pass
    else:
        raise AssertionError("a changed line must be refused")


def _history(repo: GitRepoBuilder) -> tuple[str, str]:
    """base, then a side branch and main both changing lib/mod.py, merged; returns (base, end)."""
    base = repo.commit("base", {"lib/mod.py": "def f(x):\n    return x\n\n\ndef g(x):\n    return x\n",
                                "README": "r\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side: g compares", {"lib/mod.py": "def f(x):\n    return x\n\n\ndef g(x):\n    return x > 1\n"},
                author="Bob")
    repo.commit("side: docs", {"README": "r\nmore\n"}, author="Bob")
    repo.git("checkout", "-q", "main")
    repo.commit("main: h", {"lib/other.py": "def h(n):\n    return n + 1\n"})
    repo.clock += 3600
    repo.git("merge", "-q", "--no-ff", "-m", "Merge side", "side",
             env={"GIT_AUTHOR_DATE": f"{repo.clock} +0000", "GIT_COMMITTER_DATE": f"{repo.clock} +0000"})
    end = repo.commit("main: f doubles", {"lib/mod.py": "def f(x):\n    return 2 * x\n\n\ndef g(x):\n"
                                                         "    return x > 1\n"})
    return base, end


def test_linearise_replays_non_merge_commits_reproducibly(make_git_repo):
    up = make_git_repo("upstream")
    base, end = _history(up)
    commits = gi.window_commits(up.root / ".git", base, end)
    subjects = [up.git("log", "-1", "--format=%s", c).strip() for c in commits]
    assert len(commits) == 4 and "Merge side" not in subjects
    assert subjects.index("side: g compares") < subjects.index("side: docs")
    assert subjects[-1] == "main: f doubles"

    made = []
    for name in ("a", "b"):
        work = up.root.parent / name
        gi.run_git(["clone", "-q", "--no-checkout", str(up.root), str(work)])
        made.append(gi.linearise(work, base, commits))
        log = gi.out(["log", "--first-parent", "--format=%P|%an|%ad|%cn|%cd|%s", "HEAD"], cwd=work).splitlines()
        assert all(len(line.split("|")[0].split()) == 1 for line in log[:-1])  # linear
        up_log = [gi.out(["log", "-1", "--format=%an|%ad|%cn|%cd|%s", c], cwd=work).strip() for c in commits]
        assert [line.split("|", 1)[1] for line in log[:4]][::-1] == up_log
        assert gi.out(["rev-parse", "HEAD^{tree}"], cwd=work) == gi.out(["rev-parse", f"{end}^{{tree}}"], cwd=work)
    assert made[0] == made[1]  # same hashes on every run


def test_mutation_in_the_culprit_is_carried_to_the_end(make_git_repo):
    up = make_git_repo("upstream")
    base, end = _history(up)
    commits = gi.window_commits(up.root / ".git", base, end)
    work = up.root.parent / "work"
    gi.run_git(["clone", "-q", "--no-checkout", str(up.root), str(work)])
    rebuilt = [base, *gi.linearise(work, base, commits)]
    spec = pt.RepoSpec("toy", "toy/toy", end, ("lib",), "2000-01-01")

    lines = pt.blame_window_lines(work, spec, rebuilt[-1], rebuilt)
    k_g = next(k for k, c in enumerate(rebuilt) if gi.out(["log", "-1", "--format=%s", c], cwd=work).strip()
               == "side: g compares")
    assert ("lib/mod.py", 6, "lib/mod.py", 6) in lines[k_g]  # `return x > 1`, still there at the end
    cands = pt.candidates(work, spec, rebuilt[-1], rebuilt, random.Random(3))
    again = pt.candidates(work, spec, rebuilt[-1], rebuilt, random.Random(3))
    assert cands == again and cands
    assert {c.k for c in cands} <= set(lines)
    # `h` is new in the window (its tests could not pass at the base): its lines are blamed, not tried
    assert any(p == "lib/other.py" for k in lines for p, *_ in lines[k])
    assert all(c.end_path == "lib/mod.py" for c in cands)

    cand = next(c for c in cands if c.k == k_g and c.mutation.operator == "cmp_flip")
    gi.checkout(work, rebuilt[k_g])
    src = (work / "lib/mod.py").read_text()
    pt.write_file(work, "lib/mod.py", mu.apply_mutation(src, cand.mutation))
    gi.run_git(["commit", "-q", "-a", "--amend", "--no-edit"], cwd=work, env=gi.committer_env(work, rebuilt[k_g]))
    tail = gi.replay(work, rebuilt[k_g + 1:])
    assert tail is not None and len(tail) == len(rebuilt) - k_g - 1
    diff = gi.out(["diff", rebuilt[-1], tail[-1]], cwd=work)
    assert "-    return x > 1" in diff and "+    return x <= 1" in diff
    assert gi.out(["diff", "--numstat", rebuilt[-1], tail[-1]], cwd=work).split() == ["1", "1", "lib/mod.py"]


def test_replay_refuses_a_conflicting_later_commit(make_git_repo):
    up = make_git_repo("upstream")
    base = up.commit("base", {"m.py": "x = 1\n"})
    c1 = up.commit("one", {"m.py": "x = 2\n"})
    c2 = up.commit("two", {"m.py": "x = 3\n"})
    work = up.root.parent / "work"
    gi.run_git(["clone", "-q", str(up.root), str(work)])
    gi.checkout(work, c1)
    pt.write_file(work, "m.py", "x = 20\n")
    gi.run_git(["commit", "-q", "-a", "--amend", "--no-edit"], cwd=work, env=gi.committer_env(work, c1))
    head = gi.out(["rev-parse", "HEAD"], cwd=work).strip()
    assert gi.replay(work, [c2]) is None
    assert gi.out(["rev-parse", "HEAD"], cwd=work).strip() == head  # restored
    assert gi.out(["status", "--porcelain"], cwd=work) == ""
    assert base != head


def test_choose_windows_draws_seeded_disjoint_windows_in_order(make_git_repo, monkeypatch):
    monkeypatch.setattr(pt, "WINDOW_MIN", 3)
    monkeypatch.setattr(pt, "WINDOW_MAX", 5)
    up = make_git_repo("upstream")
    for i in range(30):
        head = up.commit(f"c{i}", {"lib/m.py": f"x = {i}\n"})
    spec = pt.RepoSpec("toy", "toy/toy", head, ("lib",), "2000-01-01")
    git_dir = up.root / ".git"
    wins = pt.choose_windows(spec, git_dir, random.Random("1:toy"), 8)
    again = pt.choose_windows(spec, git_dir, random.Random("1:toy"), 8)
    assert [(w.base, w.end, w.commits) for w in wins] == [(w.base, w.end, w.commits) for w in again]
    assert 2 <= len(wins) <= 8 and [w.index for w in wins] == list(range(1, len(wins) + 1))
    fp = gi.out(["rev-list", "--first-parent", "--reverse", head], git_dir=git_dir).split()
    spans = []
    for w in wins:
        assert 3 <= len(w.commits) <= 5 and w.commits == gi.window_commits(git_dir, w.base, w.end)
        spans.append((fp.index(w.base), fp.index(w.end)))
    for i, (b1, e1) in enumerate(spans):
        assert all(e1 <= b2 or b1 >= e2 for b2, e2 in spans[i + 1:])  # no two share a commit
    assert spans != sorted(spans) or len(spans) < 3  # draw order, not history order


def test_the_window_draw_does_not_depend_on_the_hour_it_runs(make_git_repo, monkeypatch):
    """git reads a bare date (`--since=2020-09-13`) at the current time of day, so the commits of
    that day that count, and the seeded draw, changed with the hour the builder ran (a fresh
    machine drew other windows for 14 of the card's repositories). `since_cutoff` is midnight UTC."""
    monkeypatch.setattr(pt, "WINDOW_MIN", 3)
    monkeypatch.setattr(pt, "WINDOW_MAX", 5)
    up = make_git_repo("upstream")
    for i in range(30):  # hourly from 2020-09-13 12:26 UTC: 12 commits on the `since` day
        head = up.commit(f"c{i}", {"lib/m.py": f"x = {i}\n"})
    spec = pt.RepoSpec("toy", "toy/toy", head, ("lib",), "2020-09-13")
    git_dir = up.root / ".git"
    early, late = 1_600_000_000 + 86_400 * 100, 1_600_000_000 + 86_400 * 100 + 8 * 3600  # 12:26 and 20:26 UTC
    draws, bare = [], []
    for now in (early, late):
        monkeypatch.setenv("GIT_TEST_DATE_NOW", str(now))
        draws.append([(w.base, w.end) for w in pt.choose_windows(spec, git_dir, random.Random("1:toy"), 8)])
        bare.append(len(gi.out(["rev-list", "--first-parent", f"--since={spec.since}", head], git_dir=git_dir).split()))
    assert draws[0] == draws[1] and draws[0]
    assert bare[0] != bare[1]  # what a bare date did: 30 commits read in the morning, 22 at night
    assert len(gi.out(["rev-list", "--first-parent", f"--since={spec.since_cutoff}", head], git_dir=git_dir).split()) == 30


def test_non_merges_reached_count_what_git_counts_across_merged_branches(make_git_repo):
    """choose_windows' counts come from one `rev-list --parents`: for every pair of first-parent
    commits, the difference is `git rev-list --count --no-merges b..e`, with branches merged in
    (one forked before the oldest first-parent commit too) and a merge of a merge."""
    up = make_git_repo("upstream")
    root = up.commit("root", {"lib/m.py": "x = 0\n"})
    up.git("branch", "old", root)
    trunk = up.git("symbolic-ref", "--short", "HEAD").strip()
    for i in range(3):
        up.commit(f"main {i}", {"lib/m.py": f"x = {i}\n"})
    up.git("checkout", "-q", "-b", "side")
    for i in range(3):
        up.commit(f"side {i}", {f"lib/s{i}.py": "y = 1\n"})
    up.git("checkout", "-q", "old")
    up.commit("old work", {"lib/o.py": "z = 1\n"})
    up.git("checkout", "-q", "side")
    up.git("merge", "-q", "--no-ff", "-m", "old into side", "old")
    up.git("checkout", "-q", trunk)
    up.commit("main 3", {"lib/m.py": "x = 3\n"})
    up.git("merge", "-q", "--no-ff", "-m", "side into main", "side")
    head = up.commit("main 4", {"lib/m.py": "x = 4\n"})
    git_dir = up.root / ".git"
    fp = gi.out(["rev-list", "--first-parent", "--reverse", head], git_dir=git_dir).split()[1:]  # as if `since` cut the root
    reached = gi.non_merges_reached(git_dir, head, fp)
    for b in range(len(fp)):
        for e in range(b, len(fp)):
            want = int(gi.out(["rev-list", "--count", "--no-merges", f"{fp[b]}..{fp[e]}"], git_dir=git_dir))
            assert reached[e] - reached[b] == want, (b, e)
    assert reached[-1] - reached[0] == 4 + 3 + 1  # main 1-4, side 0-2 and old work; no merge


def test_take_windows_replaces_windows_that_give_nothing():
    wins = [pt.Window("toy", i, f"b{i}", f"e{i}", []) for i in range(1, 8)]
    built = []

    def build(win):
        built.append(win.index)
        return [] if win.index in (1, 3) else [{"case_id": f"w{win.index}-{j}"} for j in range(win.index)]

    cases = pt.take_windows(wins, 3, build)
    assert built == [1, 2, 3, 4, 5]  # 1 and 3 conflicted or gave nothing; 2, 4 and 5 count
    assert [c["case_id"] for c in cases][:2] == ["w2-0", "w2-1"] and len(cases) == 2 + 4 + 5
    assert pt.take_windows(wins, 0, build) == []


def test_passing_tests_survive_a_module_that_fails_to_collect(make_git_repo):
    repo = make_git_repo("suite")
    repo.commit("suite", {"tests/test_ok.py": "def test_a():\n    assert True\n\n\ndef test_b():\n    assert False\n",
                          "tests/test_broken.py": "from collections import NoSuchABC\n\n\ndef test_c():\n    pass\n"})
    spec = pt.RepoSpec("toy", "toy/toy", "HEAD", ("lib",), "2000-01-01")
    passed, failed = py.passing_tests(Path(sys.executable), repo.root, spec)
    assert passed == {"tests/test_ok.py::test_a"}
    assert failed == 2  # test_b, and the collection error
