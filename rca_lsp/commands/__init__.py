"""Groups of `rca` subcommands, each in its own module and registered at the end of `rca_lsp.cli`."""
