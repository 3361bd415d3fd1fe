"""Features and evidence kinds are one vocabulary: retrieval's weights, the learned fusion's columns,
what `rca suspects` writes and what README.md lists all agree with `rca_lsp.kinds`."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from rca_lsp.kinds import CONTEXT, FEATURE_OF, SCORED, EvidenceKind, Feature
from rca_lsp.suspects.learned import COLUMNS, RETRIEVAL
from rca_lsp.suspects.retrieve import Weights
from tests.test_cli import _history, rca

README = Path(__file__).resolve().parents[1] / "README.md"


def _listed(marker: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker} -->(.*?)<!-- /{marker} -->", text, re.S)
    assert block, f"README.md has no <!-- {marker} --> block"
    return [m for m in re.findall(r"`([a-z_-]+)`", block.group(1))]


def test_readme_lists_every_evidence_kind_and_feature_and_nothing_else():
    assert _listed("evidence-kinds") == [k.value for k in EvidenceKind]
    assert _listed("features") == [f.value for f in Feature]


def test_every_scored_feature_has_a_weight_and_every_kind_but_the_models_a_feature():
    assert {f.name for f in fields(Weights)} == {f.value for f in SCORED}
    assert set(SCORED) | set(CONTEXT) == set(Feature) and not set(SCORED) & set(CONTEXT)
    assert set(RETRIEVAL) <= set(SCORED) and COLUMNS[:len(RETRIEVAL) + len(CONTEXT)] == RETRIEVAL + CONTEXT
    assert set(FEATURE_OF) == set(EvidenceKind) - {EvidenceKind.MODEL}
    assert Weights().of(Feature.FRAME) == Weights().frame


def test_what_rca_suspects_writes_is_in_the_vocabulary(git_repo):
    _history(git_repo)
    proc = rca("suspects", "--trace", "crash.txt", "--format", "json", "--explain", "--top", "0", cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    suspects = json.loads(proc.stdout)["suspects"]
    kinds = {e["kind"] for s in suspects for e in s["evidence"]}
    names = {name for s in suspects for name in s["features"]}
    assert kinds and kinds <= {k.value for k in EvidenceKind}
    assert "frame-line" in kinds, kinds
    assert names <= {f.value for f in Feature}, names
    assert {f.value for f in CONTEXT} | {"frame", "recency"} <= names, names


def test_the_device_values_agree_between_the_ranker_the_server_and_the_cli():
    from rca_lsp.cli import suspects_cmd
    from rca_lsp.lsp.options import DEVICES as SERVER_DEVICES
    from rca_lsp.ranker.session import DEVICES

    cli = next(p for p in suspects_cmd.params if p.name == "device")
    assert SERVER_DEVICES == DEVICES == tuple(cli.type.choices) and cli.default == "auto"
    manifest = json.loads((README.parent / "extension" / "vscode" / "package.json").read_text())
    setting = manifest["contributes"]["configuration"]["properties"]["rca.device"]
    assert tuple(setting["enum"]) == DEVICES and setting["default"] == "auto"
