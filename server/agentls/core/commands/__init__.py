"""Slash commands: the registry (built-in and custom Markdown commands), when a prompt is a command,
and running one for a session (`Session.submit`). See `docs/extending.md`, "Commands"."""
