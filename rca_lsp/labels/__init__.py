"""Confirmed culprits as labels, and what learns from them (the loop of issue #14).

`store` keeps them (`<vcs-dir>/rca/labels.db`, beside the index but never a cache: a label is a
user's answer, not rebuildable), `capture` turns a confirmed answer into one (a resolved failure, a
confirmed bisection, a suspect picked in the editor), `fit` is the numpy-only listwise fit and its
leave-one-out, `versions` keeps the tuned fusions (`<vcs-dir>/rca/models/`, a `current` pointer),
and `evaluate` measures rankers on labels or benchmark cases. Nothing here leaves the machine.
"""
