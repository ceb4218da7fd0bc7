"""Context management and token economy: what the model sees of a long session, and what it costs.

- `catalog`: the per-model table (window, max output, prices) from `models.json`.
- `tokens`: a cheap token estimate of messages and requests, calibrated against measured usage.
- `meter`: the context window (known, configured or learned from an overflow) and the fill level.
- `tool_calls`: pairs tool calls with their results, the facts the tiers decide on.
- The four tiers, cheapest first, each a pure function over the message list:
  `microcompact` (stale and old tool results become one-line markers), `snip` (old exchanges
  dropped, the user's words kept), `summary` (a model-written summary near the limit) and
  `collapse` (older summaries merged). `base` is the compacted head they share.
- `manager`: runs the tiers before every request, recovers from an overflow, records compactions.
- `budget`: the cost and token budgets checked before every API call.
"""
