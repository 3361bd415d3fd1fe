"""A bisection's outcome as text for people and as JSON for programs (contract in README.md)."""

from __future__ import annotations

from rca_lsp.bisect.search import GOOD
from rca_lsp.records import clip, evidence_dict, iso_date, json_text, suspect_dict
from rca_lsp.types import BisectOutcome, Suspect

TOP_SUSPECTS = 5


def _rank_of(outcome: BisectOutcome) -> dict[str, Suspect]:
    return {s.commit.hash: s for s in outcome.suspects}


def untested_parents(outcome: BisectOutcome) -> list[str]:
    """The culprit's parents its confirmation took as good without running the test there: the
    given --good revisions (trusted, as `git bisect` trusts them) it has for parents."""
    if outcome.culprit is None or not outcome.confirmed:
        return []
    passed = {r.commit for r in outcome.runs if r.result == GOOD}
    return [p for p in outcome.culprit.parents if p not in passed]


def to_json(outcome: BisectOutcome, ascii_only: bool = False) -> str:
    """The JSON document (`records.json_text`); `ascii_only` for an output that takes only some
    characters."""
    ranked = _rank_of(outcome)
    culprit = None
    if outcome.culprit is not None:
        c = outcome.culprit
        found = ranked.get(c.hash)
        culprit = {"summary": c.summary, "author": c.author, "email": c.email, "date": iso_date(c.author_date),
                   "rank": found.rank if found else None,
                   "evidence": [evidence_dict(e) for e in found.evidence] if found else []}
    return json_text({
        "culprit": outcome.culprit.hash if outcome.culprit else None,
        "test_runs": len(outcome.runs),
        "confirmed": outcome.confirmed,
        "parents_taken_as_good": untested_parents(outcome),  # given as --good, not run
        "culprit_commit": culprit,
        "possible": list(outcome.possible),
        "good": list(outcome.good),
        "bad": outcome.bad,
        "runs": [{"commit": r.commit, "result": r.result, "exit_code": r.exit_code, "seconds": r.seconds,
                  "reason": r.reason or None} for r in outcome.runs],
        "suspects": [{k: v for k, v in suspect_dict(s).items() if k != "evidence"}
                     for s in outcome.suspects[:TOP_SUSPECTS]],
        "candidates": outcome.candidates,
        "skipped": list(outcome.skipped),
        "warnings": list(outcome.warnings),
        "worktree_files": [{"path": path, "state": state} for path, state in outcome.worktree_files],
    }, ascii_only)


def to_text(outcome: BisectOutcome) -> str:
    ranked = _rank_of(outcome)
    lines = [f"using the work tree's version of {path} ({state})" for path, state in outcome.worktree_files]
    if outcome.culprit is not None:
        c = outcome.culprit
        found = ranked.get(c.hash)
        where = f"suspect #{found.rank} of {outcome.candidates}" if found else "not ranked"
        lines.append(f"culprit: {c.hash[:10]}  {clip(c.summary, 72)}")
        lines.append(f"         {c.author}, {iso_date(c.author_date)[:10]}; {where}")
        trusted = untested_parents(outcome)
        lines.append("confirmed: " + ("no" if not outcome.confirmed else
                                      "yes: the test fails at it and passes at its parents" if not trusted else
                                      "yes: the test fails at it; its parent " + ", ".join(p[:10] for p in trusted)
                                      + " is the --good revision, taken as good without a run"))
        lines += [f"  - {e.text}" for e in (found.evidence if found else ())]
    else:
        lines.append(f"no single culprit: skipped commits leave {len(outcome.possible)} possibilities "
                     "(most likely first):")
        for sha in outcome.possible:
            s = ranked.get(sha)
            lines.append(f"  {sha[:10]}  " + (f"#{s.rank:<3} {clip(s.commit.summary, 72)}" if s else "(not ranked)"))
    lines.append("runs:")
    for i, r in enumerate(outcome.runs, start=1):
        code = f"exit {r.exit_code:<3}" if r.exit_code is not None else "not run "
        lines.append(f"  {i:>3}  {r.commit[:10]}  {r.result:<4}  {code}  {r.seconds:7.2f} s"
                     + (f"  {r.reason}" if r.reason else ""))
    lines.append(f"{len(outcome.runs)} test run{'s' if len(outcome.runs) != 1 else ''}; "
                 f"{outcome.candidates} candidate commits between good and bad")
    return "\n".join(lines)
