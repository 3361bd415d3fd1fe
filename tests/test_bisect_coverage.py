"""The line tracer of `rca bisect`'s run at BAD, and what the executed lines do to the ranking."""

from __future__ import annotations

import os
import subprocess
import sys

from rca_lsp.bisect.coverage import LineRecorder
from rca_lsp.index.ingest import update
from rca_lsp.index.store import Index
from rca_lsp.suspects import find_suspects
from rca_lsp.vcs.git import GitRepo

LIB = "def f(x):\n    if x > 1:\n        return 2\n    return 3\n\n\ndef g(x):\n    return x\n"


def test_every_python_process_records_its_lines_and_a_projects_sitecustomize_still_runs(tmp_path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(LIB)
    own = tmp_path.parent / f"{tmp_path.name}-own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("print('own sitecustomize')\n")
    child = "import sys; sys.path.insert(0, 'pkg'); import m; m.f(5)"
    script = (f"import subprocess, sys; sys.path.insert(0, 'pkg'); import m; print(m.f(0)); "
              f"subprocess.run([sys.executable, '-c', {child!r}])")
    with LineRecorder(str(tmp_path)) as recorder:
        env = recorder.env({**os.environ, "PYTHONPATH": str(own)})
        proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
        lines = recorder.lines()
    assert proc.returncode == 0 and proc.stdout.count("own sitecustomize") == 2 and "\n3\n" in proc.stdout
    assert lines == {"pkg/m.py": {1, 2, 3, 4, 7}}  # 3 ran in the child only; g's body never ran
    assert not recorder.folder.exists()


def test_commits_whose_lines_ran_in_the_failing_test_are_raised(git_repo) -> None:
    git_repo.commit("Start", {"lib.py": LIB, "tests/test_lib.py": "import lib\n\ndef test_f():\n    assert lib.f(5) == 3\n"})
    ran = git_repo.commit("Tune f", {"lib.py": LIB.replace("return 2", "return 2 + 0")}, author="Bob")
    idle = git_repo.commit("Tune g", {"lib.py": LIB.replace("return 2", "return 2 + 0").replace("return x", "return x + 0")},
                           author="Carol")
    trace = ("    def test_f():\n>       assert lib.f(5) == 3\nE       assert 2 == 3\n\n"
             "tests/test_lib.py:4: AssertionError\n")
    repo = GitRepo(git_repo.root)
    index = Index.open(repo.meta_dir)
    try:
        update(repo, index)
        window = repo.reachable()
        plain = find_suspects(repo, index, trace, top=0, window=window, explain=True)
        traced = find_suspects(repo, index, trace, top=0, window=window, explain=True,
                               executed={"lib.py": {1, 2, 3}, "tests/test_lib.py": {3, 4}})
    finally:
        index.close()
    assert "executed" not in plain.features[ran]
    assert traced.features[ran]["executed"] == 1.0 and "executed" not in traced.features[idle]
    suspect = next(s for s in traced.suspects if s.commit.hash == ran)
    assert any(e.kind == "executed" and e.text == "1 line it last changed ran in the failing test (lib.py:3)"
               for e in suspect.evidence)
    ranked = [s.commit.hash for s in traced.suspects]
    assert ranked.index(ran) < ranked.index(idle)
