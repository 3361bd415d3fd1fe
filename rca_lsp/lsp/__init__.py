"""`rca serve`: the language server that brings suspects into the editor (pygls 2, stdio).

Modules: `command` (the click command), `server` (handlers), `convert` (core types -> LSP types),
`options` (settings), `findings` (the latest suspects by source line), `jobs` (cancellation and
work-done progress), `work` (the blocking calls into the core, run in threads).
"""
