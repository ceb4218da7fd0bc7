"""agentls: a language server that hosts a coding agent for every LSP editor."""

__version__ = "0.1.0"
