"""The compacted head of a context: what replaced the earlier part of a long session.

Once anything is cut (by snip, a summary or a collapse), the context starts with one user
message rendered from a `Base`: an introduction saying what happened and how to get details
back, then one block per *stage* (each cut adds one: the model's summary of that part, or a
mechanical note for a snip, with every message the user typed in that part, verbatim), then a
note of the state at the last compaction (the todo list, the files touched). The recent turns
follow it unchanged.

Stages are only ever appended (or, when there are too many, the oldest merged by `collapse`),
so the head's leading blocks stay byte-identical across compactions and keep hitting the
prompt cache: the request puts a breakpoint on the last stage block.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from agentls.core.messages import Message, TextBlock

StageKind = Literal["summary", "snip"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Stage(_Frozen):
    kind: StageKind
    text: str
    """The model's summary of this part, or (snip) the list of what was removed."""
    user_messages: tuple[str, ...] = ()
    """Everything the user typed in this part, verbatim, in order."""
    messages: int = 0
    """How many conversation messages this stage replaced."""
    tool_calls: int = 0


class FileNote(_Frozen):
    path: str
    edited: bool
    changed_since: bool | None
    """The file differs from what the agent last saw (None: unknown)."""


class Base(_Frozen):
    transcript: str
    """Where the session's full record is (a JSONL file), or "" for a session kept in memory."""
    stages: tuple[Stage, ...] = ()
    todos: tuple[str, ...] = ()
    """The todo list at the last compaction, one line per item (`[x] done`, `[ ] open`)."""
    files: tuple[FileNote, ...] = ()

    @property
    def stable_blocks(self) -> int:
        """Blocks at the head of the rendered message that only change when stages are merged."""
        return 1 + len(self.stages)

    def user_messages(self) -> list[str]:
        return [text for stage in self.stages for text in stage.user_messages]


def render(base: Base) -> Message:
    blocks = [TextBlock(text=_intro(base))]
    blocks += [TextBlock(text=_stage(n, s)) for n, s in enumerate(base.stages, 1)]
    blocks.append(TextBlock(text=_state(base)))
    return Message(role="user", content=tuple(blocks))


def _intro(base: Base) -> str:
    where = (
        f"The session's full record, every message and tool result, is in the JSONL file {base.transcript}."
        if base.transcript
        else "The full record of the earlier part is not available in this session."
    )
    return (
        "<compacted_context>\n"
        "This conversation grew too long for the context window, so agentls replaced its earlier "
        "part with what follows: for each removed part, every message the user wrote in it "
        "(verbatim) and a summary of the work, then the state at the last compaction. The most "
        "recent turns follow unchanged after this message.\n"
        "Details from the removed parts (file contents, command output, search results) are gone "
        "from your context. To get them back, read the files again, search again, or rerun "
        f"commands that are safe to repeat. {where}\n"
        "Continue the work from where it stands; do not redo what the summaries say is done "
        "unless you find it is not.\n"
        "</compacted_context>"
    )


def _stage(number: int, stage: Stage) -> str:
    what = "summary" if stage.kind == "summary" else "removed without a summary"
    lines = [
        f'<earlier_part number="{number}" kind="{what}" messages="{stage.messages}" '
        f'tool_calls="{stage.tool_calls}">'
    ]
    if stage.user_messages:
        lines.append("Messages the user wrote in this part, verbatim and in order:")
        for text in stage.user_messages:
            lines += ["<user_message>", text, "</user_message>"]
    else:
        lines.append("The user wrote no messages in this part.")
    tag = "summary" if stage.kind == "summary" else "removed"
    lines += [f"<{tag}>", stage.text.strip(), f"</{tag}>", "</earlier_part>"]
    return "\n".join(lines)


def _state(base: Base) -> str:
    lines = ["<state_at_compaction>"]
    if base.todos:
        lines.append("The todo list (TodoWrite) at the last compaction:")
        lines += [f"- {item}" for item in base.todos]
    else:
        lines.append("There was no todo list at the last compaction.")
    if base.files:
        lines.append("Files read or edited in the removed parts (read them again before relying on details):")
        for note in base.files:
            action = "edited" if note.edited else "read"
            if note.changed_since is None:
                since = "whether it changed since is unknown"
            else:
                since = "changed since" if note.changed_since else "unchanged since"
            lines.append(f"- {note.path} ({action}; {since})")
    lines.append("</state_at_compaction>")
    return "\n".join(lines)
