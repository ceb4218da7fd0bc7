import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { mentionLabel, promptBlocks, promptText, selectionUri, slashCommand, type Mention } from '../src/shared/prompt';
import { resolveServerCommand, splitCommandLine } from '../src/shared/serverCommand';
import { activityOfProgress, statusView } from '../src/shared/status';
import { compactionDetail, compactionText, formatCost, formatCount, formatPercent, formatTokens, meterView } from '../src/shared/usage';

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
    assert.deepEqual(activityOfProgress('compacting the context'), { activity: 'compacting', detail: '' });
  });

  it('shows the most urgent state of all sessions and progress', () => {
    const idle = statusView({ sessions: [], progress: [], connection: 'running' });
    assert.equal(idle.state, 'idle');
    const tool = statusView({ sessions: [{ activity: 'thinking', detail: '' }], progress: [{ title: 'agentls', message: 'Read a.py' }], connection: 'running' });
    assert.equal(tool.state, 'tool');
    assert.match(tool.text, /Read a\.py/);
    const compacting = statusView({ sessions: [{ activity: 'idle', detail: '' }], progress: [{ title: 'agentls: compacting', message: 'compacting the context' }], connection: 'running' });
    assert.equal(compacting.state, 'compacting');
    assert.match(compacting.text, /compacting/);
    const perm = statusView({ sessions: [{ activity: 'permission', detail: 'Edit' }], progress: [{ title: 'agentls', message: 'Read a.py' }], connection: 'running' });
    assert.equal(perm.state, 'permission');
    assert.equal(statusView({ sessions: [], progress: [], connection: 'stopped' }).state, 'stopped');
  });
});

describe('usage', () => {
  const request = { input_tokens: 1200, output_tokens: 340, cache_read_input_tokens: 80_000, cache_creation_input_tokens: 2000, cache_creation_1h_input_tokens: 0 };

  it('formats token counts compactly and exactly', () => {
    assert.equal(formatTokens(950), '950');
    assert.equal(formatTokens(1234), '1.2k');
    assert.equal(formatTokens(12345), '12k');
    assert.equal(formatTokens(84_000), '84k');
    assert.equal(formatTokens(200_000), '200k');
    assert.equal(formatTokens(2_500_000), '2.5M');
    assert.equal(formatCount(150_000), '150,000');
    assert.equal(formatCount(42), '42');
  });

  it('formats the share of the window', () => {
    assert.equal(formatPercent(84_000, 200_000), '42%');
    assert.equal(formatPercent(200_000, 200_000), '100%');
    assert.equal(formatPercent(500, 200_000), '<1%');
    assert.equal(formatPercent(0, 200_000), '0%');
    assert.equal(formatPercent(10, 0), '0%');
  });

  it('formats costs, with more decimals below a cent', () => {
    assert.equal(formatCost(0.43), '$0.43');
    assert.equal(formatCost(12.5), '$12.50');
    assert.equal(formatCost(0.0012), '$0.0012');
    assert.equal(formatCost(0), '$0.00');
    assert.equal(formatCost(1.5, 'EUR'), 'EUR 1.50');
    assert.equal(formatCost(0.0312, 'USD', true), '$0.0312');
  });

  it('shows the meter and the cost from the server figures', () => {
    const m = meterView({ used: 84_000, size: 200_000, cost: { amount: 0.43, currency: 'USD' }, request, requestCost: { amount: 0.0312, currency: 'USD' }, session: request });
    assert.equal(m.text, '42% · 84k / 200k');
    assert.equal(m.fraction, 0.42);
    assert.equal(m.level, 'ok');
    assert.equal(m.cost, '$0.43');
    assert.match(m.tooltip, /Context: 84,000 of 200,000 tokens \(42% of the window\)/);
    assert.match(m.tooltip, /Last request: 83,200 in \(80,000 cache read, 2,000 cache write\) · 340 out · \$0\.0312/);
    assert.match(m.tooltip, /Session: 83,200 in/);
    assert.match(m.tooltip, /Cost: \$0\.4300 for the session/);
  });

  it('says when the cost is unknown, and when nothing was sent yet', () => {
    const unknown = meterView({ used: 170_000, size: 200_000, cost: null, request: null, requestCost: null, session: null });
    assert.equal(unknown.cost, 'cost unknown');
    assert.equal(unknown.level, 'high');
    assert.doesNotMatch(unknown.tooltip, /Last request/);
    assert.equal(meterView({ used: 130_000, size: 200_000, cost: null, request: null, requestCost: null, session: null }).level, 'warn');
    const empty = meterView(null);
    assert.equal(empty.text, 'no requests yet');
    assert.equal(empty.fraction, 0);
    assert.equal(empty.cost, '', 'no cost before the server said anything');
    // A request that overflowed the window fills the bar, no more.
    assert.equal(meterView({ used: 250_000, size: 200_000, cost: null, request: null, requestCost: null, session: null }).fraction, 1);
  });

  it('describes compactions in one line', () => {
    const done = { status: 'completed' as const, tier: 'summary', trigger: 'manual', tokensBefore: 150_000, tokensAfter: 40_000, size: 200_000, message: 'compacted', summary: 'S' };
    assert.equal(compactionText(done), 'Context compacted (summary): 150,000 → 40,000 tokens');
    assert.equal(compactionText({ ...done, status: 'started', tokensAfter: null }), 'Compacting the context (summary, 150,000 tokens)…');
    assert.equal(compactionText({ ...done, status: 'interrupted' }), 'Compaction (summary) did not finish.');
    assert.equal(compactionDetail(done), 'trigger: requested · window: 200,000 tokens · compacted');
  });
});
