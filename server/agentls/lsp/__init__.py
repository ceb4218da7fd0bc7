"""The language server: the only package that knows LSP (pygls, lsprotocol, JSON-RPC shapes).

It adapts the core's ports to an editor: an editor-backed `Workspace`, an `Approver` that asks
through LSP requests, and a renderer that turns `AgentEvent`s into `$/progress` and
`agentls/sessionUpdate` notifications.
"""
