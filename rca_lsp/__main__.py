import rca_lsp

rca_lsp.drop_working_directory()  # before anything else is imported: see there

import sys  # noqa: E402

from rca_lsp.cli import run  # noqa: E402

sys.exit(run())
