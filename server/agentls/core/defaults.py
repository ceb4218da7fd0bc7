"""Defaults the command line shows before anything heavy is imported (the LSP start-up path)."""

DEFAULT_MAX_TURNS = 50
