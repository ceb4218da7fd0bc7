"""The agent core: the turn loop, typed events, the model port and the session.

Architecture invariant: nothing here imports pygls or lsprotocol, and nothing here touches the
disk except through the `Workspace` port and `agentls.store`.
"""
