"""The `Workspace` port and its disk-backed implementation.

Tools and the core reach files and processes only through a `Workspace`. The language server
supplies an editor-backed one (open buffers win over disk); the CLI uses `DiskWorkspace`.
"""
