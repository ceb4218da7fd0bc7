"""The ACP front end: agentls as an agent for ACP clients (Zed, JetBrains, codecompanion, …)."""
