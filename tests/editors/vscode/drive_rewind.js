// Drives code-server in headless Chromium (playwright-core) through "Restore to here": open a
// file, run "agentls: Open Chat", send two prompts (the second one's model Edits the open file and
// runs a command that creates two files; while it works, "Restore to here" is disabled), change
// one of those files as the user would (a conflict), then click "Restore to here" on the second
// prompt's message, read the preview, choose "Restore code and conversation" (the conflict left
// unticked), and check the editor's buffer, the files on disk, the conversation and the composer;
// then VS Code's undo in the editor brings the agent's version back.
//
// Usage: node drive_rewind.js CONFIG.json
// CONFIG: {url, workspace, file, originalNeedle, editedNeedle, firstPrompt, firstReplyNeedle,
//          prompt, replyNeedle, createdFile, conflictFile, conflictText, artifacts, result, playwright, chromium, tmp, timeoutMs}
// Writes CONFIG.result (JSON): {ok, steps, error?, ...} and screenshots into CONFIG.artifacts.
// Every wait has a generous deadline; nothing asserts on timing.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(config.playwright);
const T = config.timeoutMs || 120000;

const result = { ok: false, steps: [], consoleErrors: [] };
function step(name) {
  result.steps.push(name);
  process.stderr.write(`[drive-rewind] ${name}\n`);
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

function fileEditor(page) {
  return page.locator('.editor-instance .monaco-editor .view-lines').first();
}

async function editorText(page) {
  // Monaco renders spaces as U+00A0.
  return (await fileEditor(page).innerText()).replace(/\u00a0/g, ' ');
}

async function waitForEditorText(page, needle) {
  const deadline = Date.now() + T;
  let text = '';
  while (Date.now() < deadline) {
    text = await editorText(page).catch(() => '');
    if (text.includes(needle)) {
      return text;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`the editor never showed ${JSON.stringify(needle)}; it shows:\n${text}`);
}

// Send a prompt and wait until its reply is shown and the turn is over. `whileRunning` runs while
// the turn still works (after its first tool card finished, before the reply).
async function sendAndWait(frame, text, replyNeedle, whileRunning) {
  const input = frame.locator('textarea.input');
  await input.fill(text);
  await input.press('Enter');
  if (whileRunning) {
    await whileRunning();
  }
  const reply = frame.locator('.entry.agent', { hasText: replyNeedle });
  const problem = frame.locator('.banner:not(.hidden), .notice-error').first();
  const first = await Promise.race(
    [reply.waitFor({ state: 'visible', timeout: T }).then(() => 'reply'), problem.waitFor({ state: 'visible', timeout: T }).then(() => 'problem')].map((p) =>
      p.catch((err) => err),
    ),
  );
  if (first === 'problem') {
    throw new Error(`the panel shows an error: ${await problem.innerText()}`);
  }
  if (first instanceof Error) {
    throw first;
  }
  await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });
  await frame.locator('button.stop').waitFor({ state: 'hidden', timeout: T });
}

const exists = (name) => fs.existsSync(path.join(config.workspace, name));

async function main() {
  fs.mkdirSync(config.artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(config.tmp, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
    await page.locator('.statusbar-item', { hasText: 'agentls' }).first().waitFor({ state: 'visible', timeout: T });

    step(`open ${config.file}`);
    await quickOpen(page, config.file);
    result.editorBefore = await waitForEditorText(page, config.originalNeedle);

    step('run agentls: Open Chat');
    await commandPalette(page, 'agentls: Open Chat');
    const frame = chatFrame(page);
    const input = frame.locator('textarea.input');
    await input.waitFor({ state: 'visible', timeout: T });
    await frame.locator('.state', { hasText: 'idle' }).waitFor({ state: 'visible', timeout: T });

    step('the first prompt');
    await sendAndWait(frame, config.firstPrompt, config.firstReplyNeedle);
    const firstRestore = frame.locator('.entry.user', { hasText: config.firstPrompt }).locator('button.restore-button');
    await firstRestore.waitFor({ state: 'attached', timeout: T });
    result.firstCheckpoint = await firstRestore.getAttribute('data-checkpoint');

    step('the second prompt: the agent edits the open file and runs a command that creates a file');
    await sendAndWait(frame, config.prompt, config.replyNeedle, async () => {
      // The command ran; the model's last reply is slow to come: the turn still runs.
      await frame.locator('.tool-card.tool-completed', { hasText: config.createdFile }).waitFor({ state: 'visible', timeout: T });
      await frame.locator('button.stop:not(.hidden)').waitFor({ state: 'visible', timeout: T });
      result.restoreDisabledDuringTurn = await firstRestore.isDisabled();
      result.stopVisibleWhenChecked = await frame.locator('button.stop:not(.hidden)').isVisible();
    });
    result.editorAfterTurn = await waitForEditorText(page, config.editedNeedle);
    result.createdAfterTurn = exists(config.createdFile);
    result.restoreEnabledAfterTurn = !(await firstRestore.isDisabled());

    step(`someone else changes ${config.conflictFile} after the agent`);
    fs.writeFileSync(path.join(config.workspace, config.conflictFile), config.conflictText);

    step('hover the second prompt\'s message: "Restore to here"');
    const message = frame.locator('.entry.user', { hasText: config.prompt });
    const restore = message.locator('button.restore-button');
    result.restoreOpacityIdle = await restore.evaluate((el) => getComputedStyle(el).opacity);
    await message.hover();
    await page.waitForTimeout(200);
    result.restoreOpacityHover = await restore.evaluate((el) => getComputedStyle(el).opacity);
    result.restoreButton = { text: await restore.innerText(), checkpoint: await restore.getAttribute('data-checkpoint'), disabled: await restore.isDisabled() };
    result.restoreButtons = await frame.locator('button.restore-button').count();
    await restore.click();

    step('the preview: what a rewind to that message changes');
    const preview = message.locator('.rewind');
    await preview.locator('button.rewind-choice', { hasText: 'Restore code and conversation' }).waitFor({ state: 'visible', timeout: T });
    result.previewTitle = await preview.locator('.rewind-title').innerText();
    result.previewSubtitle = await preview.locator('.rewind-subtitle').innerText().catch(() => '');
    result.previewSummary = await preview.locator('.rewind-summary').innerText();
    result.previewFiles = await preview.locator('.rewind-file:not(.rewind-conflict):not(.rewind-not-restorable)').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('.rewind-action')?.textContent ?? '', r.querySelector('.rewind-path')?.textContent ?? '']),
    );
    result.previewConflicts = await preview.locator('.rewind-conflict').evaluateAll((rows) =>
      rows.map((r) => ({
        path: r.querySelector('.rewind-path')?.textContent ?? '',
        why: r.querySelector('.rewind-why')?.textContent ?? '',
        label: r.querySelector('label')?.textContent ?? '',
        checked: r.querySelector('input[type=checkbox]')?.checked ?? null,
      })),
    );
    result.previewChoices = await preview.locator('.rewind-buttons button').allInnerTexts();
    result.previewChoicesDisabled = await preview.locator('button.rewind-choice').evaluateAll((bs) => bs.map((b) => b.disabled));
    result.previewFocus = await frame.locator(':focus').innerText().catch(() => '');
    await preview.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-rewind-preview.png') });
    await preview.screenshot({ path: path.join(config.artifacts, 'vscode-rewind-preview-box.png') });

    step('Restore code and conversation');
    await preview.locator('button.rewind-choice', { hasText: 'Restore code and conversation' }).click();
    const notice = frame.locator('.entry.notice', { hasText: 'Rewound to checkpoint' });
    await notice.waitFor({ state: 'visible', timeout: T });
    result.notice = await notice.innerText();
    await frame.locator('.entry.user', { hasText: config.prompt }).waitFor({ state: 'detached', timeout: T });
    result.editorAfterRewind = await waitForEditorText(page, config.originalNeedle);
    result.createdAfterRewind = exists(config.createdFile);
    result.conflictAfterRewind = fs.readFileSync(path.join(config.workspace, config.conflictFile), 'utf8');
    result.noticeClass = await notice.getAttribute('class');
    result.panelTextAfterRewind = await frame.locator('main.transcript').innerText();
    result.userMessagesAfterRewind = await frame.locator('.entry.user').allInnerTexts();
    result.restoreButtonsAfterRewind = await frame.locator('button.restore-button').count();
    result.composerAfterRewind = await input.inputValue();
    result.previewsAfterRewind = await frame.locator('.rewind').count();
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-rewind-done.png') });

    step("VS Code's undo in the editor brings the agent's version back");
    await fileEditor(page).click();
    await page.keyboard.press('Control+Z');
    result.editorAfterUndo = await waitForEditorText(page, config.editedNeedle);
    result.createdAfterUndo = exists(config.createdFile);
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-rewind-undo.png') });

    result.ok = true;
    step('done');
  } catch (err) {
    result.error = String((err && err.stack) || err);
    await page.screenshot({ path: path.join(config.artifacts, 'vscode-rewind-failure.png') }).catch(() => {});
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
