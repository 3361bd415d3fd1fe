import sys

from rca_lsp.cli import run

sys.exit(run())
