// Drives code-server in headless Chromium (playwright-core) through agentls chat turns:
// open a file, run "agentls: Open Chat", send a prompt, approve the edit with the panel's
// "Allow once" button, wait for the edit in the editor and the reply in the panel, read the
// header's context meter and cost, compact the session with instructions (the header's "…"
// button and VS Code's input box), compact again (nothing left), open and cancel the palette's
// compact command, then reload the window and check the panel shows the session again (replayed
// by the server) with its meter and cost. Then, in the same session: a prompt whose subagent
// asks to run Bash (the nested card's "Allow once"), the `/` completion list, an MCP tool call,
// and /mcp, /cost, /context, a custom /fix-issue 123 and /compact typed into the chat input.
//
// Usage: node drive.js CONFIG.json
// CONFIG: {url, workspace, file, prompt, editNeedle, replyNeedle, compactInstructions, artifacts,
//          result, playwright, chromium, timeoutMs, subagentPrompt, subagentReplyNeedle,
//          fixReplyNeedle, mcpPrompt, mcpReplyNeedle}
// Writes CONFIG.result (JSON): {ok, steps, error?, editorText, panelText, ...} and screenshots
// into CONFIG.artifacts. Every wait has a generous deadline; nothing asserts on timing.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(config.playwright);
const T = config.timeoutMs || 120000;

const result = { ok: false, steps: [], consoleErrors: [] };
function step(name) {
  result.steps.push(name);
  process.stderr.write(`[drive] ${name}\n`);
}
function save() {
  fs.writeFileSync(config.result, JSON.stringify(result, null, 2));
}

async function commandPalette(page, command) {
  await page.keyboard.press('F1');
  const box = page.locator('.quick-input-widget input.input');
  await box.waitFor({ state: 'visible', timeout: T });
  await box.fill(`>${command}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first();
  await row.waitFor({ state: 'visible', timeout: T });
  await box.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: T });
}

// The header's context row: the meter's text and tooltip, and the cost.
async function readContext(frame) {
  const row = frame.locator('.context-row');
  await row.waitFor({ state: 'visible', timeout: T });
  return {
    meter: await row.locator('.meter-text').innerText(),
    tooltip: await row.locator('.meter').getAttribute('title'),
    cost: await row.locator('.cost').innerText(),
    fill: await row.locator('.meter-fill').evaluate((el) => el.style.width),
  };
}

async function quickOpen(page, name) {
  await page.keyboard.press('Control+P');
  const box = page.locator('.quick-input-widget input.input');
  await box.waitFor({ state: 'visible', timeout: T });
  await box.fill(name);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout: T });
  await box.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: T });
}

function chatFrame(page) {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

async function editorText(page) {
  return page.locator('.editor-instance .monaco-editor .view-lines').first().innerText();
}

async function waitForEditorText(page, needle) {
  const deadline = Date.now() + T;
  let text = '';
  while (Date.now() < deadline) {
    text = await editorText(page).catch(() => '');
    // Monaco renders spaces as U+00A0.
    if (text.replace(/\u00a0/g, ' ').includes(needle)) {
      return text.replace(/\u00a0/g, ' ');
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`the editor never showed ${JSON.stringify(needle)}; it shows:\n${text}`);
}

// Send a prompt (or a slash command) from the chat input. A bare `/name` opens the completion
// popup: Enter picks the command (as a user would), the next Enter sends it.
async function send(frame, text) {
  const input = frame.locator('textarea.input');
  await input.fill(text);
  if (await frame.locator('.popup:not(.hidden) .popup-item').count()) {
    await input.press('Enter');
    await frame.locator('.popup.hidden').waitFor({ state: 'attached', timeout: T });
  }
  await input.press('Enter');
}

// The labels of the completion popup after typing `text` into an empty input.
async function completionFor(frame, text) {
  const input = frame.locator('textarea.input');
  await input.fill('');
  await input.pressSequentially(text);
  const items = frame.locator('.popup-item .popup-label');
  await items.first().waitFor({ state: 'visible', timeout: T });
  return items.allInnerTexts();
}

// The slash command's report that appears after `count` reports were already shown.
async function commandOutput(frame, command, count) {
  const reports = frame.locator('.entry.command-output');
  const deadline = Date.now() + T;
  while ((await reports.count()) <= count) {
    if (Date.now() > deadline) {
      throw new Error(`no report from ${command}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return reports.nth(count).innerText();
}

// Part two, in the reloaded panel: a subagent asks permission for Bash (answered in the
// panel), then slash commands: completion, /cost, /context, a custom /fix-issue, /compact.
async function subagentAndCommands(page, frame) {
  step('a subagent asks to run Bash: the permission buttons on its nested card');
  await send(frame, config.subagentPrompt);
  const nested = frame.locator('.tool-card.tool-nested.tool-permission');
  await nested.waitFor({ state: 'visible', timeout: T });
  await nested.scrollIntoViewIfNeeded();
  result.subagentPermissionCard = await nested.innerText();
  result.subagentPermissionButtons = await nested.locator('button.permission-option').allInnerTexts();
  await page.screenshot({ path: path.join(config.artifacts, 'vscode-subagent-permission.png') });

  step('Allow once: the subagent runs the command, the parent answers');
  await nested.locator('button.permission-option', { hasText: 'Allow once' }).click();
  await frame.locator('.entry.agent', { hasText: config.subagentReplyNeedle }).waitFor({ state: 'visible', timeout: T });
  await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });
  const agentCard = frame.locator('.tool-card', { hasText: 'Agent (general-purpose)' }).last();
  result.agentCardText = await agentCard.innerText();
  result.agentNote = await agentCard.locator('.tool-note').innerText().catch(() => '');
  result.nestedCards = await frame.locator('.tool-card.tool-nested').allInnerTexts();
  await agentCard.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(config.artifacts, 'vscode-subagent-done.png') });

  step('slash completion: / lists the commands');
  result.completionSlash = await completionFor(frame, '/');
  result.completionCo = await completionFor(frame, '/co');
  await page.screenshot({ path: path.join(config.artifacts, 'vscode-slash-completion.png') });
  result.completionF = await completionFor(frame, '/fi');
  await frame.locator('textarea.input').press('Escape');
  await frame.locator('textarea.input').fill('');

  step('an MCP tool call: a tool card for mcp__echo__echo with its result');
  await send(frame, config.mcpPrompt);
  await frame.locator('.entry.agent', { hasText: config.mcpReplyNeedle }).waitFor({ state: 'visible', timeout: T });
  await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });
  const mcpCard = frame.locator('.tool-card', { hasText: 'mcp__echo__echo' }).last();
  await mcpCard.locator('details.tool-output summary').click();
  result.mcpCard = await mcpCard.innerText();
  await mcpCard.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(config.artifacts, 'vscode-mcp-tool.png') });

  const before = await frame.locator('.entry.command-output').count();
  step('/mcp');
  await send(frame, '/mcp');
  result.mcpOutput = await commandOutput(frame, '/mcp', before);

  step('/cost');
  await send(frame, '/cost');
  result.costOutput = await commandOutput(frame, '/cost', before + 1);
  step('/context');
  await send(frame, '/context');
  result.contextOutput = await commandOutput(frame, '/context', before + 2);

  step('/fix-issue 123 (a custom command from .claude/commands)');
  await send(frame, '/fix-issue 123');
  await frame.locator('.entry.agent', { hasText: config.fixReplyNeedle }).waitFor({ state: 'visible', timeout: T });
  await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });

  step('/compact');
  const compactions = await frame.locator('.entry.compaction.compaction-completed').count();
  await send(frame, '/compact');
  result.compactOutput = await commandOutput(frame, '/compact', before + 3);
  result.compactionsAfterSlashCompact = (await frame.locator('.entry.compaction.compaction-completed').count()) - compactions;
  result.panelTextAfterCommands = await frame.locator('main.transcript').innerText();
  await page.screenshot({ path: path.join(config.artifacts, 'vscode-slash-commands.png') });
}

async function main() {
  fs.mkdirSync(config.artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(config.tmp, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(T);
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      result.consoleErrors.push(msg.text().slice(0, 500));
    }
  });
  try {
    step('open workbench');
    await page.goto(`${config.url}/?folder=${encodeURIComponent(config.workspace)}`, { timeout: T });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: T });

    step('wait for the agentls status bar item (extension activated, server starting)');
    await page.locator('.statusbar-item', { hasText: 'agentls' }).first().waitFor({ state: 'visible', timeout: T });

    step(`open ${config.file}`);
    await quickOpen(page, config.file);
    await waitForEditorText(page, config.fileNeedle);

    step('run agentls: Open Chat');
    await commandPalette(page, 'agentls: Open Chat');
    const frame = chatFrame(page);
    const input = frame.locator('textarea.input');
    await input.waitFor({ state: 'visible', timeout: T });
    await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });

    step('attach the whole file as a selection: agentls: Ask About Selection');
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await commandPalette(page, 'agentls: Ask About Selection');
    await frame.locator('.chip.chip-selection').waitFor({ state: 'visible', timeout: T });
    result.selectionChip = await frame.locator('.chip.chip-selection').innerText();

    step('mention a file with @');
    await input.click();
    await input.pressSequentially(`@${config.file.slice(0, 3)}`);
    await frame.locator('.popup-item', { hasText: config.file }).first().waitFor({ state: 'visible', timeout: T });
    await input.press('Enter');
    await frame.locator('.chip.chip-file', { hasText: config.file }).waitFor({ state: 'visible', timeout: T });
    result.fileChip = await frame.locator('.chip.chip-file').innerText();

    step('send the prompt');
    await input.fill(config.prompt);
    await input.press('Enter');

    step('wait for the permission buttons');
    const allow = frame.locator('button.permission-option', { hasText: 'Allow once' });
    // An error in the panel (e.g. the server refused the request) ends the wait at once.
    const problem = frame.locator('.banner:not(.hidden), .notice-error').first();
    const first = await Promise.race(
      [
        allow.waitFor({ state: 'visible', timeout: T }).then(() => 'buttons'),
        problem.waitFor({ state: 'visible', timeout: T }).then(() => 'problem'),
      ].map((p) => p.catch((err) => err)), // The loser must not become an unhandled rejection.
    );
    if (first === 'problem') {
      throw new Error(`the panel shows an error: ${await problem.innerText()}`);
    }
    if (first instanceof Error) {
      throw first;
    }
    await frame.locator('.tool-card.tool-permission').first().scrollIntoViewIfNeeded();
    result.permissionCard = await frame.locator('.tool-card.tool-permission').first().innerText();
    result.permissionButtons = await frame.locator('button.permission-option').allInnerTexts();
    result.statusBarDuringPermission = await page.locator('.statusbar-item', { hasText: 'agentls' }).first().innerText();
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-chat-permission.png') });

    step('click Allow once');
    await allow.click();

    step('wait for the edit in the editor');
    result.editorText = await waitForEditorText(page, config.editNeedle);

    step('wait for the reply and the end of the turn');
    await frame.locator('.entry.agent', { hasText: config.replyNeedle }).waitFor({ state: 'visible', timeout: T });
    await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });
    await frame.locator('button.stop').waitFor({ state: 'hidden', timeout: T });
    result.panelText = await frame.locator('main.transcript').innerText();
    result.planText = await frame.locator('details.plan').innerText().catch(() => '');
    result.toolCards = await frame.locator('.tool-card').count();
    result.thoughts = await frame.locator('details.thought').count();
    result.diffCount = await frame.locator('.tool-card .diff').count();
    result.statusBarAfter = await page.locator('.statusbar-item', { hasText: 'agentls' }).first().innerText();
    result.contextAfterTurn = await readContext(frame);
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-chat-after-turn.png') });

    step('Compact with instructions…: the header button, then VS Code\'s input box');
    await frame.locator('button.compact-more').click();
    const instructions = page.locator('.quick-input-widget input.input');
    await instructions.waitFor({ state: 'visible', timeout: T });
    result.compactInputTitle = await page.locator('.quick-input-widget .quick-input-title').innerText().catch(() => '');
    await instructions.fill(config.compactInstructions);
    await instructions.press('Enter');

    step('while the model writes the summary: the notice spins and Compact is disabled');
    const started = frame.locator('.entry.compaction.compaction-started');
    await started.waitFor({ state: 'visible', timeout: T });
    result.compactionStartedText = await started.innerText();
    result.compactButtonWhileCompacting = {
      text: await frame.locator('button.compact-button').innerText(),
      disabled: await frame.locator('button.compact-button').isDisabled(),
    };
    result.stateWhileCompacting = await frame.locator('.state').innerText();

    step('the compaction notice, its summary, and the meter after it');
    const done = frame.locator('.entry.compaction.compaction-completed');
    await done.waitFor({ state: 'visible', timeout: T });
    await frame.locator('button.compact-button:not([disabled])', { hasText: 'Compact' }).waitFor({ state: 'visible', timeout: T });
    result.compactionText = await done.locator('summary').innerText();
    await done.locator('summary').click();
    await done.locator('.compaction-summary').waitFor({ state: 'visible', timeout: T });
    result.compactionSummary = await done.locator('.compaction-summary').innerText();
    result.compactionCount = await frame.locator('.entry.compaction').count();
    result.contextAfterCompact = await readContext(frame);
    await done.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-chat-compacted.png') });

    step('Compact again: nothing is left to compact');
    const notices = frame.locator('.entry.notice');
    const noticesBefore = await notices.count();
    await frame.locator('button.compact-button').click();
    const notCompacted = frame.locator('.entry.notice-info', { hasText: 'Not compacted' });
    await notCompacted.waitFor({ state: 'visible', timeout: T });
    result.compactAgainNotice = await notCompacted.innerText();

    step('the palette command asks for instructions; Escape cancels');
    await page.keyboard.press('F1');
    const palette = page.locator('.quick-input-widget input.input');
    await palette.waitFor({ state: 'visible', timeout: T });
    await palette.fill(`>${config.compactCommand}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: config.compactCommand }).first().waitFor({ state: 'visible', timeout: T });
    await palette.press('Enter');
    const askTitle = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Compact with instructions' });
    await askTitle.waitFor({ state: 'visible', timeout: T });
    result.paletteCompactTitle = await askTitle.innerText();
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: T });
    await page.waitForTimeout(500);
    result.noticesAdded = (await notices.count()) - noticesBefore;

    step('reload the window: the panel shows the session again, from the server');
    await page.reload({ timeout: T });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: T });
    let reloaded = chatFrame(page);
    const restored = await reloaded
      .locator('.entry.agent', { hasText: config.replyNeedle })
      .waitFor({ state: 'visible', timeout: T })
      .then(() => true)
      .catch(() => false);
    if (!restored) {
      // VS Code did not restore the panel: opening it again must load the session.
      step('panel not restored by VS Code; run agentls: Open Chat again');
      await commandPalette(page, 'agentls: Open Chat');
      reloaded = chatFrame(page);
      await reloaded.locator('.entry.agent', { hasText: config.replyNeedle }).waitFor({ state: 'visible', timeout: T });
    }
    result.panelRestoredByVSCode = restored;
    await reloaded.locator('.entry.user', { hasText: config.promptNeedle }).waitFor({ state: 'visible', timeout: T });
    result.panelTextAfterReload = await reloaded.locator('main.transcript').innerText();
    // The meter and the cost come back with the replay (its last update).
    await reloaded.locator('.context-row .meter-text', { hasNotText: 'no requests yet' }).waitFor({ state: 'visible', timeout: T });
    result.contextAfterReload = await readContext(reloaded);
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-chat-after-reload.png') });

    step('the session picker lists the session');
    await reloaded.locator('button.session-button').click();
    await reloaded.locator('.menu .menu-item', { hasText: config.promptNeedle }).first().waitFor({ state: 'visible', timeout: T });
    result.sessionMenu = await reloaded.locator('.menu').innerText();
    await reloaded.locator('button.session-button').click();

    await subagentAndCommands(page, reloaded);

    result.ok = true;
    step('done');
  } catch (err) {
    result.error = String((err && err.stack) || err);
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-failure.png') }).catch(() => {});
  } finally {
    save();
    await context.close().catch(() => {});
  }
}

main().then(
  () => process.exit(result.ok ? 0 : 1),
  (err) => {
    result.error = String((err && err.stack) || err);
    save();
    process.exit(1);
  },
);
