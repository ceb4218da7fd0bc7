"""The Neovim plugin's answer to `agentls/requestPermission` after a long session's worth of server
requests (0.7.2 and 0.12-dev), against a stub server (tests/editors/nvim/permission_server.py)
driven by tests/editors/nvim/permission_driver.lua: the server sends 300 requests the client
answers, then a prompt (the float's "a"), 300 more, then a second prompt ("r"); each answer must
reach the server as the option the key picked.

On 0.7 the plugin answers later by wrapping rpc.lua's `encode_and_send` upvalue and holding back
the handler's placeholder. LuaJIT treats that never-reassigned local as immutable: once enough
server requests were answered, a compiled trace through `send_response` has the original writer
baked in, and without a flush of the compiled code the placeholder went out as the answer (the
server read it as a dismissal). That happened at random in the features test; here it is certain.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.editors.nvim.runner import NVIM_BUILDS, new_project, nvim_env, run_driver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

HERE = Path(__file__).parent / "nvim"
DRIVER = HERE / "permission_driver.lua"
SERVER = HERE / "permission_server.py"
WARM = 300
"""Server requests answered before each prompt: enough that LuaJIT compiles rpc.lua's
`send_response` (its hot-call threshold is about 110 calls)."""


@pytest.mark.parametrize("which", NVIM_BUILDS)
def test_permission_answers_reach_the_server_after_many_server_requests(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    nvim: Path = request.getfixturevalue(which)
    project = new_project(tmp_path, {"app.py": "print('hi')\n"})
    answers = tmp_path / "answers.json"
    cmd = [sys.executable, str(SERVER), str(answers), str(WARM)]
    run = run_driver(
        nvim,
        DRIVER,
        cwd=project,
        env=nvim_env(tmp_path, tmp_path / "agentls-home", "http://127.0.0.1:9"),
        extra_env={
            "AGENTLS_TEST_FILE": str(project / "app.py"),
            "AGENTLS_TEST_CMD": json.dumps(cmd),
            "AGENTLS_TEST_ANSWERS": str(answers),
        },
        out=tmp_path / "result.json",
        timeout_s=120,
    )
    r = run.result
    assert r.get("ok") is True, f"the driver did not finish\n{run.report()}"
    assert r["permission_ui"] == "float", run.report()
    assert len(r["prompts"]) == 2 and "Bash: echo 0" in "\n".join(r["prompts"][0]), run.report()
    # Exactly what the client sent back, under each prompt's own id.
    assert [(a["id"], a.get("result")) for a in r["answers"]] == [
        ("permission-0", {"outcome": {"outcome": "selected", "optionId": "allow_once"}}),
        ("permission-1", {"outcome": {"outcome": "selected", "optionId": "reject_once"}}),
    ], run.report()
