"""`rca bisect`: rank the range's commits for the failure, then confirm by running the test.

`search` is the strategy (pure, over a commit DAG and a prior), `prior` turns retrieval's ranking
into that prior, `workspace` owns the temporary checkout, `runner` runs the test there, and
`session` ties them together; `report` renders the outcome for people and for programs.
"""

from rca_lsp.bisect.prior import PriorParams, build_prior
from rca_lsp.bisect.search import BAD, GOOD, SKIP, Conclusion, Search
from rca_lsp.bisect.session import BisectOptions, bisect

__all__ = ["BAD", "GOOD", "SKIP", "BisectOptions", "Conclusion", "PriorParams", "Search", "bisect", "build_prior"]
