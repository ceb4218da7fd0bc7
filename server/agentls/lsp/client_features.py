"""What the connected editor can do, read once from `initialize`, so handlers never re-derive it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from agentls.core.model import ThinkingConfig

if TYPE_CHECKING:
    from agentls.core.context.settings import BudgetConfig, ContextConfig


@dataclass(frozen=True)
class ClientFeatures:
    name: str = "unknown"
    rich: bool = False
    """The client announced `experimental.agentls`: it handles our custom requests/notifications."""
    request_permission: bool = False
    session_update: bool = False
    save_documents: bool = False
    """It answers `agentls/saveDocuments` by saving buffers with the editor's own machinery."""
    work_done_progress: bool = False
    show_document: bool = False
    apply_edit: bool = False
    versioned_edits: bool = False
    """Its `workspace/applyEdit` takes `documentChanges` (edits checked against a document version)."""
    position_encoding: str = "utf-16"
    options: dict[str, Any] = field(default_factory=dict)
    """`initializationOptions` as sent."""


def _experimental(caps: T.ClientCapabilities) -> dict[str, Any]:
    exp = caps.experimental
    if isinstance(exp, dict):
        section = exp.get("agentls")
        if isinstance(section, dict):
            return section
    return {}


def read_client_features(params: T.InitializeParams, position_encoding: str) -> ClientFeatures:
    caps = params.capabilities
    exp = _experimental(caps)
    window = caps.window
    workspace = caps.workspace
    edit = workspace.workspace_edit if workspace else None
    options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
    return ClientFeatures(
        name=params.client_info.name if params.client_info else "unknown",
        rich=bool(exp),
        request_permission=bool(exp.get("requestPermission")),
        session_update=bool(exp.get("sessionUpdate")),
        save_documents=bool(exp.get("saveDocuments")),
        work_done_progress=bool(window and window.work_done_progress),
        show_document=bool(window and window.show_document and window.show_document.support),
        apply_edit=bool(workspace and workspace.apply_edit),
        versioned_edits=bool(edit and (edit.document_changes or edit.resource_operations)),
        position_encoding=position_encoding,
        options=options,
    )


def thinking_option(options: dict[str, Any]) -> ThinkingConfig | None:
    value = options.get("thinking")
    if value in (None, False, "off"):
        return None
    if value == "adaptive":
        return ThinkingConfig(type="adaptive")
    return ThinkingConfig(type="enabled", budget_tokens=int(value))


def context_option(options: dict[str, Any]) -> ContextConfig:
    """`contextWindow` and `context` ({autoCompact, autoCompactPercent, ...}), as the user set them
    in the editor: they win over settings files. Raises `ValidationError` for bad values."""
    from agentls.core.context.settings import ContextConfig

    values = dict(options.get("context") or {})
    if options.get("contextWindow") is not None:
        values["contextWindow"] = options["contextWindow"]
    return ContextConfig.model_validate(values)


def budget_option(options: dict[str, Any]) -> BudgetConfig:
    """`budget`: {maxUsd, maxTokens} for each session of this editor."""
    from agentls.core.context.settings import BudgetConfig

    return BudgetConfig.model_validate(options.get("budget") or {})


def settings_option(options: dict[str, Any]) -> dict[str, Any] | None:
    """`initializationOptions.settings`: permission settings at the command-line level, from the editor."""
    settings = options.get("settings")
    return settings if isinstance(settings, dict) else None
