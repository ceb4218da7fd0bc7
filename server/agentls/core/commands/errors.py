"""Why a slash command cannot run as typed (nothing was run); the messages are for the user."""

from __future__ import annotations


class CommandError(Exception):
    """A command that cannot run as typed; the message is for the user (nothing was run)."""


class UnknownCommand(CommandError):
    def __init__(self, name: str, similar: list[str], warnings: tuple[str, ...] = ()) -> None:
        hint = f" Did you mean {', '.join('/' + s for s in similar)}?" if similar else ""
        message = (
            f"Unknown command /{name}.{hint} Type /help for the commands; start the prompt with // to "
            "send text that begins with / to the model."
        )
        if warnings:
            message += " Skipped command files: " + "; ".join(warnings)
        super().__init__(message)
        self.name = name
        self.similar = similar
