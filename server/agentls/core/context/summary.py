"""Tier 3, the model-written summary: one request of its own, whose reply replaces a removed part.

The request is the session's next request as it would be sent (same tools, system prompt and
conversation, so it reads the conversation from the prompt cache) with the instruction appended.
Its tools are never run: a tool call in the reply is ignored, and a reply with no summary text is
a failure (the caller falls back to snip). Changing `tool_choice` would forbid tool calls at the
API, but it also invalidates the cached conversation, which would make every summary cost the
whole context at full price.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agentls.core.assembler import Assembler
from agentls.core.context.base import Stage
from agentls.core.errors import ModelError
from agentls.core.history import append_message
from agentls.core.messages import Message, ToolUseBlock, user_text
from agentls.core.model import Model, ModelRequest, TokenUsage

SUMMARY_INSTRUCTIONS = """\
<agentls_compaction_request>
The conversation above is about to be compacted: everything before the most recent turns will be \
removed from your context and replaced by the summary you write now. Write it for yourself, to \
continue the work without the removed part. Do not call any tools; answer with the summary only.

The user's own messages are kept verbatim separately, so do not copy them; refer to them. Keep \
every fact you would need again and cannot cheaply get back: decisions and their reasons, what \
was tried and failed, exact names, paths, commands, error messages and values that matter.

Use these sections, in this order, inside <summary> and </summary>:
1. Goal: what the user wants, with any constraints or preferences they stated.
2. Done so far: what was found and changed, file by file (paths, functions, what and why).
3. Errors and fixes: problems met, their causes, how they were resolved (or not).
4. Current state: what works, what is verified (which commands, what result), what is not.
5. Next steps: what remains, in order; the very next action.
Be complete but terse: at most about 1,500 words.
</agentls_compaction_request>"""

MERGE_INSTRUCTIONS = """\
Below are summaries of consecutive earlier parts of one long coding session, oldest first. Merge \
them into one summary that keeps everything still relevant (goal, decisions and reasons, what \
was done file by file, errors and fixes, state, next steps) and drops what later parts made \
obsolete. The user's messages are kept verbatim elsewhere; do not copy them. Answer with the \
merged summary only, inside <summary> and </summary>, at most about 1,500 words.
"""

_TAGGED = re.compile(r"<summary>(.*?)(?:</summary>|$)", re.DOTALL)
MIN_SUMMARY_CHARS = 40


@dataclass(frozen=True)
class SummaryReply:
    text: str
    """The summary, or "" when the request failed (see `error`)."""
    usage: TokenUsage
    error: str | None = None


def summary_request(request: ModelRequest, instructions: str | None = None) -> ModelRequest:
    """`request` with the compaction instruction appended to its last user message."""
    text = SUMMARY_INSTRUCTIONS
    if instructions and instructions.strip():
        text += f"\nThe user asked this compaction to focus on:\n{instructions.strip()}"
    messages = list(request.messages)
    append_message(messages, user_text(text))
    return replace_messages(request, messages)


def merge_request(request: ModelRequest, stages: Sequence[Stage]) -> ModelRequest:
    """A request merging the given summaries; it shares the session's tools and system prompt
    (a cached prefix) and nothing else."""
    parts = [MERGE_INSTRUCTIONS]
    for n, stage in enumerate(stages, 1):
        parts += [f'<part number="{n}">', stage.text.strip(), "</part>"]
    return replace_messages(request, [user_text("\n".join(parts))], cache_points=())


def replace_messages(
    request: ModelRequest,
    messages: Sequence[Message],
    *,
    cache_points: tuple[tuple[int, int], ...] | None = None,
) -> ModelRequest:
    update: dict[str, object] = {"messages": tuple(messages)}
    if cache_points is not None:
        update["cache_points"] = cache_points
    return request.model_copy(update=update)


async def ask_for_summary(model: Model, request: ModelRequest) -> SummaryReply:
    """Stream the request and return the summary text in its reply. Never raises for the model's
    failures: they come back as `error` (cancellation still propagates)."""
    assembler = Assembler(_ignore_tool_call)
    stream = model.stream(request)
    try:
        async for event in stream:
            assembler.feed(event)
    except ModelError as err:
        return SummaryReply("", assembler.usage, f"the summary request failed: {err.cause.message}")
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    if not assembler.finished:
        return SummaryReply("", assembler.usage, "the summary reply broke off")
    text = extract_summary(assembler.message())
    if len(text) < MIN_SUMMARY_CHARS:
        return SummaryReply("", assembler.usage, "the model returned no usable summary")
    return SummaryReply(text, assembler.usage)


def extract_summary(message: Message) -> str:
    text = message.text().strip()
    tagged = _TAGGED.findall(text)
    return (tagged[-1] if tagged else text).strip()


def _ignore_tool_call(block: ToolUseBlock, error: str | None) -> None:
    """A summary reply's tool calls are never run."""
