from agentls.cli.launch import entry

entry()
