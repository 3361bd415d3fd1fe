"""Edges of the command line a tester hit, on real repositories through the real CLI: a failure
resolved again with another culprit, failure ids SQLite cannot hold, a model manifest of the wrong
shape, a note about the 0 commits older than the root commit, and `rca model eval` with no labels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rca_lsp.ranker.store import DEFAULT_MODEL, MANIFEST, Manifest
from tests.test_cli import _history, rca
from tests.test_labels import _synthetic, _write
from tests.test_ranker import needs_export
from tests.test_test_change import BROKEN, REWRITTEN, TEST_FEBRUARY, _pytest_output


def _labels(root) -> list[dict]:
    proc = rca("labels", "export", "--repo", str(root))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


# 1 -------------------------------------------------------------------------------------------------

def test_a_resolved_failure_refuses_another_culprit_naming_the_one_it_has(git_repo):
    shas = _history(git_repo)
    root = str(git_repo.root)
    assert rca("failures", "add", "--repo", root, "--trace", "crash.txt", cwd=root).returncode == 0
    proc = rca("failures", "resolve", "1", "--culprit", shas["culprit"], cwd=root)
    assert proc.returncode == 0 and proc.stdout.startswith(f"label #1: culprit {shas['culprit'][:10]} was #")
    for other in (shas["calc"], shas["docs"]):
        proc = rca("failures", "resolve", "1", "--culprit", other, cwd=root)
        assert proc.returncode == 2 and proc.stdout == "", proc.stdout
        assert proc.stderr == (f"rca: error: failure #1 is already resolved (culprit {shas['culprit'][:10]}, "
                               f"label #1), not with {other[:10]} (hint: if that culprit was wrong, `rca labels "
                               "remove 1`, then resolve #1 again with the right one)\n"), proc.stderr
    assert [lb["culprit"] for lb in _labels(root)] == [shas["culprit"]]
    stats = rca("model", "stats", cwd=root).stdout.splitlines()
    assert stats[1].split()[1] == "1", stats  # one label counted, not three
    # the same culprit again: said once, on stdout, not a label line and a warning
    proc = rca("failures", "resolve", "1", "--culprit", shas["culprit"][:12], cwd=root)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.splitlines()[0] == f"label #1 already recorded: culprit {shas['culprit'][:10]} (not added again)"
    assert proc.stdout.splitlines()[1].startswith("#1  resolved  ")
    # an open failure of the same text, given the same culprit over the same history: the same label
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).stdout.startswith("#2  ")
    proc = rca("failures", "resolve", "2", "--culprit", shas["culprit"], cwd=root)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith(f"label #1 already recorded: culprit {shas['culprit'][:10]} (not added again)\n")
    assert len(_labels(root)) == 1


def test_a_wrong_culprit_is_removed_and_the_failure_resolved_again(git_repo):
    shas = _history(git_repo)
    root = str(git_repo.root)
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).returncode == 0
    assert rca("failures", "resolve", "1", "--culprit", shas["docs"], cwd=root).returncode == 0  # a mistake
    removed = rca("labels", "remove", "1", cwd=root)
    assert removed.returncode == 0 and removed.stdout == f"removed label #1: culprit {shas['docs'][:10]} (failure)\n"
    assert _labels(root) == []
    again = rca("failures", "resolve", "1", "--culprit", shas["culprit"], cwd=root)
    assert again.returncode == 0 and f": culprit {shas['culprit'][:10]} was #" in again.stdout.splitlines()[0]
    assert [lb["culprit"] for lb in _labels(root)] == [shas["culprit"]]
    for bad in ("99", "0", "x", str(2**63)):  # no such label, or not a label number
        proc = rca("labels", "remove", bad, cwd=root)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "no label #99 (hint: `rca labels list` shows their numbers)" in rca("labels", "remove", "99", cwd=root).stderr
    assert len(_labels(root)) == 1


def test_a_failure_resolved_without_a_culprit_may_be_given_one_later(git_repo):
    shas = _history(git_repo)
    root = str(git_repo.root)
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).returncode == 0
    assert rca("failures", "resolve", "1", cwd=root).returncode == 0
    proc = rca("failures", "resolve", "1", "--culprit", shas["culprit"], cwd=root)
    assert proc.returncode == 0 and proc.stdout.startswith(f"label #1: culprit {shas['culprit'][:10]} was #")
    proc = rca("failures", "resolve", "1", "--culprit", shas["calc"], cwd=root)
    assert proc.returncode == 2 and "failure #1 is already resolved" in proc.stderr


# 2 -------------------------------------------------------------------------------------------------

def test_a_failure_id_sqlite_cannot_hold_is_no_failure(git_repo):
    _history(git_repo)
    root = str(git_repo.root)
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).returncode == 0  # failures.db exists
    for fid in ("99999999999999999999999", str(2**63), "-" + str(2**63 + 1), str(2**63 - 1)):
        for culprit in ((), ("--culprit", "HEAD")):
            proc = rca("failures", "resolve", *culprit, "--", fid, cwd=root)
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr == (f"rca: error: no failure #{fid} (hint: `rca failures list --all` shows them)\n")
    assert "open" in rca("failures", "list", cwd=root).stdout


# 3 -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny random Llama, built as the tests of the ranker build it, for copies to damage."""
    from rca_lsp.ranker.export import build_tiny

    root = tmp_path_factory.mktemp("models")
    build_tiny(root / DEFAULT_MODEL)
    return root


def _copy_with(tiny_model: Path, tmp_path: Path, change) -> dict[str, str]:
    """RCA_MODEL_DIR of a copy of the tiny model whose manifest is `change(doc)`."""
    copy = tmp_path / "models"
    shutil.copytree(tiny_model, copy)
    manifest = copy / DEFAULT_MODEL / MANIFEST
    manifest.write_text(json.dumps(change(json.loads(manifest.read_text()))))
    return {**os.environ, "RCA_MODEL_DIR": str(copy)}


def _run(args, env, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def _files_a_list(doc):
    return {**doc, "files": sorted(doc["files"])}


def _variants_a_string(doc):
    return {**doc, "variants": "int8"}


def _an_array(doc):
    return [1, 2]


def _variant_not_a_list(doc):
    return {**doc, "variants": {**doc["variants"], "int8": "int8/model.onnx"}}


@needs_export
@pytest.mark.parametrize("change, why", [
    (_files_a_list, "'files' is an array, not an object"),
    (_variants_a_string, "'variants' is a string, not an object"),
    (_an_array, "its JSON is an array, not an object"),
    (_variant_not_a_list, "'variants' entry 'int8' is not a list of file names"),
])
def test_a_manifest_of_the_wrong_shape_is_a_model_error_naming_the_field(tiny_model, tmp_path, git_repo,
                                                                           change, why):
    _history(git_repo)
    env = _copy_with(tiny_model, tmp_path, change)
    said = (f"rca: error: {tmp_path / 'models' / DEFAULT_MODEL / MANIFEST} is not a valid model manifest: {why} "
            "(hint: rebuild with `rca model build --force`)\n")
    for args in (("model", "info"), ("suspects", "--trace", "crash.txt", "--ranker", "llm", "--top", "2")):
        proc = _run(args, env, cwd=git_repo.root)
        assert proc.returncode == 6 and proc.stdout == "", (args, proc.stdout)
        assert proc.stderr.endswith(said), (args, proc.stderr)


@needs_export
def test_a_model_without_int8_is_scored_with_the_variant_it_has(tiny_model, tmp_path):
    env = _copy_with(tiny_model, tmp_path, lambda doc: {**doc, "variants": {"fp32": doc["variants"]["fp32"]}})
    manifest = Manifest.read(Path(env["RCA_MODEL_DIR"]) / DEFAULT_MODEL)
    assert manifest.pick("int8") == "fp32" and manifest.pick("fp16") == "fp32"
    assert Manifest.read(tiny_model / DEFAULT_MODEL).pick("fp16") == "int8"


@needs_export
def test_model_info_names_the_variant_scoring_uses(tiny_model, tmp_path):
    env = _copy_with(tiny_model, tmp_path, lambda doc: {**doc, "variants": {"fp32": doc["variants"]["fp32"]}})
    proc = _run(("model", "info"), env)
    assert proc.returncode == 0, proc.stderr
    assert "provider: CPUExecutionProvider; variant: fp32\n" in proc.stdout


# 4 -------------------------------------------------------------------------------------------------

def test_no_note_about_the_commits_older_than_the_root_commit(git_repo):
    git_repo.commit("Add the calendar and its test",
                    {"calendar_.py": REWRITTEN, "tests/test_calendar.py": TEST_FEBRUARY})
    culprit = git_repo.commit("Tidy up", {"calendar_.py": BROKEN}, author="Bob")
    git_repo.commit("Readme", {"README.md": "calendar\n"})
    (git_repo.root / "failure.txt").write_text(_pytest_output(git_repo.root))
    proc = rca("suspects", "--trace", "failure.txt", cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    assert culprit[:10] in proc.stdout and "ranked lower" not in proc.stdout + proc.stderr, proc.stdout


# 5 -------------------------------------------------------------------------------------------------

def test_eval_with_no_labels_says_so_and_how_labels_come_about(git_repo, tmp_path):
    git_repo.commit("Add app", {"app.py": "print(1)\n"})
    root = str(git_repo.root)
    how = "(labels come from `rca failures resolve ID --culprit REV`, a confirmed `rca bisect` or `rca labels import`)"
    proc = rca("model", "eval", "--repo", root)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout
    assert proc.stderr == f"no labels to evaluate on {how}\n"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    # a file named to evaluate on that holds none is bad input: an error (exit 6), not an empty result
    proc = rca("model", "eval", "--repo", root, "--labels", str(empty))
    assert proc.returncode == 6 and proc.stdout == "", proc.stdout
    assert f"no labels in {empty} to evaluate on" in proc.stderr and "rca labels export" in proc.stderr


def test_eval_of_a_version_trained_on_every_label_holds_none_out(git_repo, tmp_path):
    git_repo.commit("Add app", {"app.py": "print(1)\n"})
    root = str(git_repo.root)
    labels = tmp_path / "labels.jsonl"
    _write(labels, _synthetic(24, 6, "size"))
    assert rca("labels", "import", str(labels), "--repo", root).returncode == 0
    assert rca("model", "tune", "--repo", root).returncode == 0
    proc = rca("model", "eval", "--repo", root)
    assert proc.returncode == 0, proc.stderr
    assert "(labels 24 of 24 trained v1; none held out since)" in proc.stdout
    assert not any(line.startswith("newer ") for line in proc.stdout.splitlines()), proc.stdout
