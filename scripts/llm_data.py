#!/usr/bin/env python3
"""Training examples for the Llama scorer (scripts/llm_train.py): each case as the model reads it.

For every case of a cases.json (scripts/dataset_build.py's training cases, pytrack_cases.py's or
bench_cases.py's), the real tool ranks the case's repository (the index brought up to date, then
retrieval, in process), and `rca_lsp.ranker.inputs.case_texts` gives what ranking shows the model:
the failure, the failing test's code and retrieval's top K candidates (summary and hunks nearest the
evidence), each cut to its token budget with the model's tokenizer. The culprit always takes part:
when retrieval left it below K it replaces the K-th candidate (`retrieval_rank` says where it was).
A seeded case also gets its culprit's text with the mutation undone (`culprit_clean`, for the
shortcut check of scripts/llm_train.py). One JSON line per case; a case already written is skipped, so a stopped run carries on.

    python scripts/llm_data.py --cases ~/.cache/rca-dataset/cases.json --out /tmp/llm/train.jsonl
    python scripts/llm_data.py --cases ~/.cache/rca-pytrack2/cases.json --out /tmp/llm/track.jsonl

The tokenizer is the built model's (`rca model build`), or `--tokenizer tokenizer.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

K = 20


def case_example(case: dict, codec, k: int = K, since_good: bool = False) -> dict:
    """One case's example: {case_id, project, failure, test, candidates, label, hashes, retrieval_rank}."""
    from rca_lsp import service
    from rca_lsp.ranker.inputs import case_texts
    from rca_lsp.vcs import open_repo

    text = Path(case["trace"]).read_text(encoding="utf-8", errors="replace")
    repo = open_repo(case["repo"])
    try:
        since = case.get("good") or None if since_good else None
        result = service.rank(repo, service.Query(text, since=since, top=0))
        hashes = [s.commit.hash for s in result.suspects]
        if case["bic"] not in hashes:
            raise ValueError(f"the culprit {case['bic'][:12]} is not among the {len(hashes)} candidates")
        rank = hashes.index(case["bic"]) + 1
        top = result.suspects[:k]
        if rank > k:
            top = [*top[:k - 1], result.suspects[rank - 1]]
        texts = case_texts(dataclasses.replace(result, suspects=top), text, repo, len(top), codec)
    finally:
        repo.close()
    chosen = [s.commit.hash for s in top]
    label = chosen.index(case["bic"])
    return {"case_id": case["case_id"], "project": case.get("project", ""), "failure": texts.failure,
            "culprit_clean": clean_text(texts.candidates[label], case.get("mutation") or {}), "test": texts.test, "candidates": texts.candidates, "label": label,
            "hashes": chosen, "scores": [s.score for s in top], "retrieval_rank": rank, "candidates_total": len(hashes)}


def clean_text(culprit: str, mutation: dict) -> str:
    """The culprit's text with its seeded mutation undone (the line the commit really added), or ""
    when the mutated line is not in what the model reads (cut by the budget) or the case has none.
    Lines are matched without their indentation: what the model reads is dedented."""
    before, after = (mutation.get("before") or "").strip(), (mutation.get("after") or "").strip()
    if not before or not after or before == after:
        return ""
    lines = culprit.split("\n")
    hits = [i for i, line in enumerate(lines) if line.startswith("+") and line[1:].strip() == after]
    if len(hits) != 1:
        return ""
    line = lines[hits[0]]
    lines[hits[0]] = line[:len(line) - len(line[1:].lstrip())] + before  # "+" and the indentation kept
    return "\n".join(lines)


def load_codec(tokenizer: Path | None):
    from rca_lsp.ranker.score import Codec
    from rca_lsp.ranker.store import Manifest, model_dir

    if tokenizer is not None:
        return Codec(tokenizer.read_text(encoding="utf-8"))
    directory = model_dir()
    manifest = Manifest.read(directory)
    return Codec((directory / "tokenizer.json").read_text(encoding="utf-8"), manifest.shape.get("special_tokens", []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=Path, required=True, help="a cases.json")
    ap.add_argument("--out", type=Path, required=True, help="JSON lines, appended to")
    ap.add_argument("--k", type=int, default=K, help="candidates per case (retrieval's top K)")
    ap.add_argument("--since-good", action="store_true", help="rank since each case's last good revision")
    ap.add_argument("--tokenizer", type=Path, help="a tokenizer.json (default: the built model's)")
    args = ap.parse_args(argv)
    codec = load_codec(args.tokenizer)
    cases = [c for c in json.loads(args.cases.read_text())["cases"] if c.get("built", True)]
    done = set()
    if args.out.exists():
        done = {json.loads(line)["case_id"] for line in args.out.read_text(encoding="utf-8").splitlines() if line}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    for i, case in enumerate(cases, 1):
        if case["case_id"] in done:
            continue
        started = time.monotonic()
        try:
            row = case_example(case, codec, args.k, args.since_good)
        except Exception as exc:  # one broken case must not stop the rest
            print(f"[{i}/{len(cases)}] {case['case_id']}: skipped: {exc}", file=sys.stderr)
            continue
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        written += 1
        print(f"[{i}/{len(cases)}] {case['case_id']}: culprit at {row['retrieval_rank']} "
              f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    print(f"{written} written, {len(done)} there already: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
