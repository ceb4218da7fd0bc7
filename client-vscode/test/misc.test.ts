import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { mentionLabel, promptBlocks, promptText, selectionUri, slashCommand, type Mention } from '../src/shared/prompt';
import { resolveServerCommand, splitCommandLine } from '../src/shared/serverCommand';
import { activityOfProgress, statusView } from '../src/shared/status';
import { estimateCost, formatTokens, summarizeUsage } from '../src/shared/usage';

describe('prompt blocks', () => {
  const selection: Mention = { kind: 'selection', uri: 'file:///w/app.py', label: 'app.py', text: 'x = 1', startLine: 3, endLine: 4, languageId: 'python' };
  const file: Mention = { kind: 'file', uri: 'file:///w/util.py', label: 'util.py' };

  it('sends text, file links and embedded selections', () => {
    const blocks = promptBlocks('Explain', [file, selection]);
    assert.deepEqual(blocks, [
      { type: 'text', text: 'Explain' },
      { type: 'resource_link', uri: 'file:///w/util.py', name: 'util.py' },
      { type: 'resource', resource: { uri: 'file:///w/app.py#L3-L4', text: 'x = 1' } },
    ]);
    // As the server's PromptParams.text() joins them.
    assert.equal(promptText(blocks), 'Explain\n@file:///w/util.py\n@file:///w/app.py#L3-L4:\n```\nx = 1\n```');
  });

  it('sends nothing for an empty prompt', () => {
    assert.deepEqual(promptBlocks('   ', []), []);
  });

  it('labels mentions for chips', () => {
    assert.equal(mentionLabel(selection), 'app.py:3-4');
    assert.equal(mentionLabel({ ...selection, endLine: 3 }), 'app.py:3');
    assert.equal(selectionUri({ ...selection, endLine: 3 }), 'file:///w/app.py#L3');
    assert.equal(mentionLabel(file), 'util.py');
  });

  it('recognises only slash commands the server lists', () => {
    assert.equal(slashCommand('/review now', [{ name: 'review' }]), 'review');
    assert.equal(slashCommand('/review now', []), null);
    assert.equal(slashCommand('no /review', [{ name: 'review' }]), null);
  });
});

describe('server command', () => {
  const none = (): boolean => false;

  it('uses a list setting as is', () => {
    assert.deepEqual(resolveServerCommand(['/opt/agentls', '--tcp', 'x y'], ['/w'], none), { command: '/opt/agentls', args: ['--tcp', 'x y'] });
  });

  it('splits a string setting like a shell', () => {
    assert.deepEqual(splitCommandLine(`python -m "agent ls" 'a b' c\\ d`), ['python', '-m', 'agent ls', 'a b', 'c d']);
    assert.deepEqual(resolveServerCommand('  /x/agentls  --verbose ', [], none), { command: '/x/agentls', args: ['--verbose'] });
  });

  it("prefers the workspace's .venv, then PATH", () => {
    const exists = (p: string): boolean => p === '/w2/.venv/bin/agentls';
    assert.deepEqual(resolveServerCommand([], ['/w1', '/w2/'], exists, 'linux'), { command: '/w2/.venv/bin/agentls', args: [] });
    assert.deepEqual(resolveServerCommand('', ['/w1'], none, 'linux'), { command: 'agentls', args: [] });
    assert.deepEqual(resolveServerCommand(undefined, [], none, 'linux'), { command: 'agentls', args: [] });
    const win = (p: string): boolean => p === 'C:\\w\\.venv\\Scripts\\agentls.exe';
    assert.deepEqual(resolveServerCommand([], ['C:\\w'], win, 'win32'), { command: 'C:\\w\\.venv\\Scripts\\agentls.exe', args: [] });
  });
});

describe('status bar', () => {
  it('reads the server progress messages', () => {
    assert.deepEqual(activityOfProgress('thinking (retry 2)'), { activity: 'thinking', detail: '' });
    assert.deepEqual(activityOfProgress('waiting for permission: Edit app.py'), { activity: 'permission', detail: 'Edit app.py' });
    assert.deepEqual(activityOfProgress('Bash: pytest -q'), { activity: 'tool', detail: 'Bash: pytest -q' });
  });

  it('shows the most urgent state of all sessions and progress', () => {
    const idle = statusView({ sessions: [], progress: [], connection: 'running' });
    assert.equal(idle.state, 'idle');
    const tool = statusView({ sessions: [{ activity: 'thinking', detail: '' }], progress: [{ title: 'agentls', message: 'Read a.py' }], connection: 'running' });
    assert.equal(tool.state, 'tool');
    assert.match(tool.text, /Read a\.py/);
    const perm = statusView({ sessions: [{ activity: 'permission', detail: 'Edit' }], progress: [{ title: 'agentls', message: 'Read a.py' }], connection: 'running' });
    assert.equal(perm.state, 'permission');
    assert.equal(statusView({ sessions: [], progress: [], connection: 'stopped' }).state, 'stopped');
  });
});

describe('usage', () => {
  it('formats token counts compactly', () => {
    assert.equal(formatTokens(950), '950');
    assert.equal(formatTokens(1234), '1.2k');
    assert.equal(formatTokens(12345), '12k');
    assert.equal(formatTokens(2_500_000), '2.5M');
  });

  it('estimates cost from list prices, and only for known model families', () => {
    const usage = { input_tokens: 1_000_000, output_tokens: 100_000, cache_read_input_tokens: 1_000_000, cache_creation_input_tokens: 0 };
    assert.equal(estimateCost('claude-sonnet-5-5', usage), 3 + 1.5 + 0.3);
    assert.equal(estimateCost('some-other-model', usage), null);
    const s = summarizeUsage(usage, 'claude-sonnet-5-5', null);
    assert.equal(s.cost, '≈$4.80');
    assert.equal(s.tokens, 'in 2M · out 100k · cached 1M');
    assert.equal(summarizeUsage(usage, 'x', { amount: 1.234, currency: 'USD' }).cost, '$1.23');
    assert.equal(summarizeUsage(usage, 'x', null).cost, '');
  });
});
