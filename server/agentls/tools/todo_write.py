"""The TodoWrite tool: the model's visible plan for the current task.

It touches nothing outside the session: the call validates the new list and hands it back in
`ToolOutput.todos`, and the core keeps it (for display and for the next turn's reminders).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agentls.tools.base import TodoItem, Tool, ToolContext, ToolEnv, ToolError, ToolInput, ToolOutput

MAX_TODOS = 100


class TodoWriteInput(ToolInput):
    todos: list[TodoItem] = Field(max_length=MAX_TODOS, description="The updated todo list")


class TodoWriteTool(Tool[TodoWriteInput]):
    name = "TodoWrite"
    input_model = TodoWriteInput
    read_only = True  # Only the session's own plan changes.

    def description(self, env: ToolEnv) -> str:
        return (
            "Create and update a structured task list for the current session. It shows the user "
            "your plan and progress, and helps you not lose track of steps.\n\n"
            "Use it when a task needs three or more distinct steps, when the user gives several "
            "tasks at once, or when new follow-up work turns up while you work. Skip it for a single "
            "simple change or a purely conversational answer.\n\n"
            'Each call replaces the whole list. Every item has `content` (imperative, e.g. "Run the '
            'tests"), `activeForm` (present continuous, e.g. "Running the tests") and `status`: '
            "pending, in_progress or completed.\n"
            "- Exactly one item should be in_progress while you work; mark it before you start.\n"
            "- Mark an item completed as soon as it is done, not in batches at the end; only when it "
            "is fully done (tests pass, nothing left unfinished).\n"
            "- If you are blocked, keep the item in_progress and add an item for what unblocks it.\n"
            "- Remove items that turn out to be irrelevant."
        )

    def summary(self, args: TodoWriteInput, root: Path) -> str:
        done = sum(1 for t in args.todos if t.status == "completed")
        return f"TodoWrite: {len(args.todos)} items, {done} completed"

    async def call(self, args: TodoWriteInput, ctx: ToolContext) -> ToolOutput:
        active = [t.content for t in args.todos if t.status == "in_progress"]
        if len(active) > 1:
            raise ToolError(
                f"{len(active)} items are in_progress ({'; '.join(a[:60] for a in active)}). "
                "Keep exactly one item in_progress: finish or reset the others to pending."
            )
        return ToolOutput(
            content=(
                "Todo list updated. Keep using it to track your progress: mark the next item "
                "in_progress before starting it and completed as soon as it is done."
            ),
            todos=tuple(args.todos),
        )
