// Drives `agentls acp` as an editor would, with the official ACP TypeScript SDK, and writes what
// happened to $ACP_TEST_OUT as JSON (tests/acp_frontend/test_acp_typescript.py checks it).
//
// Environment: ACP_AGENT (the command, JSON array), ACP_PROJECT (the session's cwd),
// ACP_FS ("1": offer fs/read_text_file and fs/write_text_file, with an unsaved buffer for
// ACP_BUFFER_PATH holding ACP_BUFFER_TEXT), ACP_TEST_OUT.
//
// Steps: initialize; session/new; a prompt whose turn reads, asks permission (answered "allow
// once"), edits, writes a plan and runs Bash; then session/load (the history replayed); then a
// second session whose prompt runs a long command, cancelled with session/cancel.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { ClientApp, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk";

const env = process.env;
const [command, ...args] = JSON.parse(env.ACP_AGENT);
const project = env.ACP_PROJECT;
const fs = env.ACP_FS === "1";
const buffers = new Map(fs ? [[env.ACP_BUFFER_PATH, env.ACP_BUFFER_TEXT]] : []);
const out = { updates: [], extensions: [], permissions: [], reads: [], writes: [], steps: [] };

const agent = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], env });
const exited = new Promise((resolve) => agent.on("exit", (code, signal) => resolve({ code, signal })));
const stream = ndJsonStream(Writable.toWeb(agent.stdin), Readable.toWeb(agent.stdout));

const app = new ClientApp({ name: "agentls-test-editor" })
  .onRequest("session/request_permission", async ({ params }) => {
    out.permissions.push({ title: params.toolCall.title, kind: params.toolCall.kind, options: params.options.map((o) => o.optionId) });
    return { outcome: { outcome: "selected", optionId: "allow_once" } };
  })
  .onRequest("fs/read_text_file", async ({ params }) => {
    out.reads.push(params.path);
    if (buffers.has(params.path)) return { content: buffers.get(params.path) };
    return { content: readFileSync(params.path, "utf8") };
  })
  .onRequest("fs/write_text_file", async ({ params }) => {
    out.writes.push({ path: params.path, content: params.content });
    buffers.set(params.path, params.content);
    return {};
  })
  .onNotification("session/update", async ({ params }) => {
    out.updates.push({ sessionId: params.sessionId, update: params.update });
  })
  .onNotification("*", async ({ method, params }) => {
    out.extensions.push({ method, params });
  });

const capabilities = { fs: { readTextFile: fs, writeTextFile: fs }, terminal: false };

try {
  await app.connectWith(stream, async (ctx) => {
    const init = await ctx.request("initialize", { protocolVersion: PROTOCOL_VERSION, clientCapabilities: capabilities });
    out.initialize = init;
    const session = await ctx.buildSession(project).start();
    out.sessionId = session.sessionId;
    out.modes = session.modes;
    out.steps.push("session");
    // The session's own queue keeps its updates in arrival order, the prompt's end last.
    out.live = [];
    void session.prompt("Shout the greeting");
    for (;;) {
      const message = await session.nextUpdate();
      if (message.kind === "stop") {
        out.stopReason = message.stopReason;
        break;
      }
      out.live.push(message.update);
    }
    out.steps.push("prompt");
    // A load replays the conversation into the same queue; the commands come last.
    await ctx.request("session/load", { sessionId: session.sessionId, cwd: project, mcpServers: [] });
    out.replayed = [];
    for (;;) {
      const message = await session.nextUpdate();
      if (message.kind !== "session_update") continue;
      out.replayed.push(message.update);
      if (message.update.sessionUpdate === "available_commands_update") break;
    }
    out.steps.push("load");
    session.dispose();

    // Cancel mid-turn: the second session's command sleeps; cancel once it has started.
    const second = await ctx.buildSession(project).start();
    const pending = second.prompt("Wait for the slow job");
    for (let i = 0; i < 400; i++) {
      const started = out.updates.some(
        (u) => u.sessionId === second.sessionId && u.update.sessionUpdate === "tool_call_update" && u.update.status === "in_progress",
      );
      if (started) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await ctx.notify("session/cancel", { sessionId: second.sessionId });
    out.cancelStopReason = (await pending).stopReason;
    out.steps.push("cancel");
    second.dispose();
  });
} catch (err) {
  out.error = String(err && err.stack ? err.stack : err);
}
agent.stdin.end();
const timer = setTimeout(() => agent.kill("SIGKILL"), 20000);
out.exit = await exited;
clearTimeout(timer);
out.buffers = Object.fromEntries(buffers);
writeFileSync(env.ACP_TEST_OUT, JSON.stringify(out, null, 1));
