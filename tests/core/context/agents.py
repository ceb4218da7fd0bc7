"""A scripted agent for long sessions: it reads, greps and runs commands in turn, answers
compaction requests with a summary, and can be told to misbehave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentls.core.context.summary import MERGE_INSTRUCTIONS, SUMMARY_INSTRUCTIONS
from agentls.core.errors import ModelError
from agentls.core.model import ModelRequest, TokenUsage
from agentls.core.scripted import Reply, ScriptedModel, Text, ToolCall

SUMMARY_MARK = SUMMARY_INSTRUCTIONS.splitlines()[0]


def is_summary_request(request: ModelRequest) -> bool:
    return SUMMARY_MARK in request.messages[-1].text()


def is_merge_request(request: ModelRequest) -> bool:
    return request.messages[0].text().startswith(MERGE_INSTRUCTIONS[:60])


def make_files(project: Path, count: int = 10, size: int = 4000) -> list[Path]:
    files = []
    for n in range(count):
        path = project / f"f{n}.py"
        lines = [f"value_{n}_{i} = {i}  # " + "x" * 30 for i in range(size // 45)]
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
    return files


@dataclass
class LongAgent:
    """Plays `calls` tool calls (mostly Reads, cycling over `files`; a Grep every 7th, a Bash every
    11th), then answers. Compaction requests get a summary (or whatever `on_summary` returns)."""

    files: list[Path]
    calls: int
    answer: str = "All done."
    on_summary: Callable[[ModelRequest, int], Reply | ModelError] | None = None
    made: int = 0
    summaries: int = 0
    merges: int = 0
    requests: list[ModelRequest] = field(default_factory=list)

    def model(self) -> ScriptedModel:
        return ScriptedModel([self] * (self.calls * 4 + 20), model_name="scripted")

    def __call__(self, request: ModelRequest) -> Reply:
        self.requests.append(request)
        if is_summary_request(request):
            self.summaries += 1
            if self.on_summary is not None:
                out = self.on_summary(request, self.summaries)
                if isinstance(out, ModelError):
                    raise out
                return out
            text = f"<summary>Summary {self.summaries}: read files, all fine so far. {'x' * 300}</summary>"
            return Reply([Text(text)])
        if is_merge_request(request):
            self.merges += 1
            return Reply(
                [Text(f"<summary>Merged summary {self.merges} of earlier parts. {'y' * 200}</summary>")]
            )
        if self.made >= self.calls:
            return Reply([Text(self.answer)], usage=TokenUsage(input_tokens=100, output_tokens=5))
        n = self.made
        self.made += 1
        if n % 11 == 10:
            call = ToolCall("Bash", {"command": "ls", "description": "list"})
        elif n % 7 == 6:
            call = ToolCall("Grep", {"pattern": f"value_{n % len(self.files)}_1", "output_mode": "content"})
        else:
            call = ToolCall("Read", {"file_path": str(self.files[n % len(self.files)])})
        return Reply([call])
