"""`agentls demo`: the whole loop offline — a scripted model fixes a failing test in a sample project."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from agentls.cli.drive import drive_turn
from agentls.cli.main import CliError
from agentls.cli.render import make_renderer
from agentls.core.factory import SessionFactory, SessionSpec
from agentls.demo.script import demo_model
from agentls.policy.decision import ApprovalRequest, ApprovalResponse
from agentls.store.sessions import SessionStore
from agentls.workspace.disk import DiskWorkspace

PROMPT = "The tests in this project fail. Find out why and fix it."

BANNER = """\
agentls demo — this run uses a SCRIPTED model: no API call is made and no key is needed.
The loop, the tools, the permission checks and the session log are the real ones.
Project: {project}
To run the real agent on it:  export ANTHROPIC_API_KEY=sk-ant-...
                              agentls run "{prompt}" --cwd {project}
"""


class DemoApprover:
    """Approves what the demo needs, and says so: the demo runs unattended."""

    async def approve(self, request: ApprovalRequest) -> ApprovalResponse:
        print(f"  (demo: auto-approving {request.call.summary})", file=sys.stderr)
        return ApprovalResponse("allow_once")


def _copy_sample(target: Path) -> None:
    sample = resources.files("agentls.demo") / "sample_project"
    with resources.as_file(sample) as src:
        shutil.copytree(
            src, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )


async def demo_command(args: argparse.Namespace) -> int:
    if args.dir:
        project = Path(args.dir).expanduser().resolve()
        if project.exists() and any(project.iterdir()):
            raise CliError(f"--dir {project} is not empty; give a new or empty directory")
    else:
        project = Path(tempfile.mkdtemp(prefix="agentls-demo-")).resolve()
    project.mkdir(parents=True, exist_ok=True)
    _copy_sample(project)
    print(BANNER.format(project=project, prompt=PROMPT), file=sys.stderr)
    model = demo_model(project)
    factory = SessionFactory(
        store=SessionStore(),
        model_for=lambda _name: model,
        workspace_for=DiskWorkspace,
        approver_for=lambda _session_id: DemoApprover(),
        default_cwd=lambda: project,
        mcp_servers=False,  # The sample project needs none, and the demo starts no program of yours.
    )
    session = await factory.start(SessionSpec(model=model.name, config={"permission_mode": "acceptEdits"}))
    code = await drive_turn(session, PROMPT, make_renderer(args.output_format))
    if model.remaining:
        print(f"agentls demo: the script stopped early ({model.remaining} step(s) unused)", file=sys.stderr)
        return code or 1
    return code
