from agentls.cli.main import entry

entry()
