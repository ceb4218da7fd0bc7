"""Model-facing tools: metadata first (name, schema, flags), then an async `call`.

Architecture invariant: tools act only through the `Workspace` port; they never prompt the user,
never import the core, and never touch the disk or spawn a process directly.
"""
