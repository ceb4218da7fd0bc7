"""Permission policy: decides allow / deny / ask for each tool call. No UI, no LSP, no I/O."""
