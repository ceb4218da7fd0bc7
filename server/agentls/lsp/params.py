"""Params of our custom requests and arguments of our commands, validated here so bad input gets a
JSON-RPC error.

Request shapes follow ACP (`session/prompt`, `session/new`, …) with camelCase names; unknown fields
are ignored, as ACP clients may send `_meta` and newer fields. A command (`workspace/executeCommand`)
takes one argument object (`Args`), checked by `parse_argument`: pygls would reject or mangle a
typed one.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from agentls import to_proto


class SessionBusyError(JsonRpcException):
    CODE = -32001
    MESSAGE = "Session busy"


class SessionNotFoundError(JsonRpcException):
    CODE = -32002
    MESSAGE = "Session not found"


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class TextContent(_Params):
    type: Literal["text"]
    text: str


class ResourceLink(_Params):
    type: Literal["resource_link"]
    uri: str
    name: str = ""


class EmbeddedText(_Params):
    uri: str
    text: str = ""


class Resource(_Params):
    type: Literal["resource"]
    resource: EmbeddedText


ContentBlock = TextContent | ResourceLink | Resource


class PromptParams(_Params):
    session_id: str = Field(alias="sessionId", min_length=1)
    prompt: list[ContentBlock] = Field(min_length=1)

    def text(self) -> str:
        """The prompt as one text: mentions become `@uri` lines, embedded text is quoted."""
        return to_proto.prompt_text([block.model_dump(by_alias=True) for block in self.prompt])


class NewSessionParams(_Params):
    cwd: str | None = None


class SessionIdParams(_Params):
    session_id: str = Field(alias="sessionId", min_length=1)


class ListCommandsParams(_Params):
    session_id: str | None = Field(default=None, alias="sessionId", min_length=1)


class CompactParams(_Params):
    session_id: str = Field(alias="sessionId", min_length=1)
    instructions: str | None = Field(default=None, max_length=20_000)


M = TypeVar("M", bound=_Params)
A = TypeVar("A", bound="Args")


def _problems(err: ValidationError, whole: str) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg']}" for e in err.errors(include_url=False)
    )


def parse(model: type[M], raw: Any) -> M:
    """Validate raw params or raise InvalidParams naming every problem."""
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as err:
        raise JsonRpcInvalidParams(f"Invalid params: {_problems(err, 'params')}") from None


class Args(BaseModel):
    """Base of command arguments: unknown keys are ignored (clients add their own)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def parse_argument(command: str, model: type[A], args: tuple[Any, ...]) -> A:
    """The command's single argument object, or InvalidParams saying what is wrong."""
    if len(args) > 1:
        raise JsonRpcInvalidParams(f"{command} takes one argument object, got {len(args)} arguments")
    raw = args[0] if args and args[0] is not None else {}
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(f"{command} takes one argument object, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise JsonRpcInvalidParams(f"Invalid {command} argument: {_problems(err, 'argument')}") from None
