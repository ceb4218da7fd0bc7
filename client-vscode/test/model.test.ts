import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SessionModel, stopNotice } from '../src/shared/model';
import type { RequestPermissionParams, SessionUpdate } from '../src/shared/protocol';

const chunk = (text: string): SessionUpdate => ({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text } });

function permission(toolCallId: string): RequestPermissionParams {
  return {
    sessionId: 's1',
    toolCall: {
      toolCallId,
      title: 'Edit app.py',
      kind: 'edit',
      status: 'pending',
      rawInput: { file_path: '/w/app.py' },
      content: [
        { type: 'content', content: { type: 'text', text: 'edits need approval' } },
        { type: 'content', content: { type: 'text', text: '```diff\n-a\n+b\n```' } },
      ],
    },
    options: [
      { optionId: 'allow_once', name: 'Allow once', kind: 'allow_once' },
      { optionId: 'allow_always', name: 'Always allow', kind: 'allow_always' },
      { optionId: 'reject_once', name: 'Reject', kind: 'reject_once' },
      { optionId: 'reject_always', name: 'Always reject', kind: 'reject_always' },
    ],
  };
}

describe('SessionModel', () => {
  it('coalesces consecutive chunks of one kind into one entry', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('hello');
    m.apply({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'hmm ' } });
    m.apply({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'ok' } });
    m.apply(chunk('Hel'));
    m.apply(chunk('lo!'));
    assert.deepEqual(
      m.view.entries.map((e) => [e.kind, 'text' in e ? e.text : '']),
      [
        ['user', 'hello'],
        ['thought', 'hmm ok'],
        ['agent', 'Hello!'],
      ],
    );
    assert.equal(m.title, 'hello');
  });

  it('bumps the revision of exactly the entries that change', () => {
    const m = new SessionModel('s1');
    m.apply(chunk('a'));
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Read a.py', kind: 'read', status: 'pending' });
    const [text, tool] = m.view.entries;
    assert.ok(text && tool);
    const textRev = text.rev;
    m.apply({ sessionUpdate: 'tool_call_update', toolCallId: 't1', status: 'in_progress' });
    assert.equal(text.rev, textRev);
    assert.ok(tool.rev > textRev);
    assert.equal(m.view.rev >= tool.rev, true);
  });

  it('follows a tool call from start to a finished edit with a diff', () => {
    const m = new SessionModel('s1');
    m.turnStarted();
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Edit app.py', kind: 'edit', status: 'pending', rawInput: { file_path: '/w/app.py' }, locations: [{ path: '/w/app.py' }] });
    assert.equal(m.view.activity, 'thinking');
    m.apply({ sessionUpdate: 'tool_call_update', toolCallId: 't1', status: 'in_progress' });
    assert.equal(m.view.activity, 'tool');
    assert.equal(m.view.activityDetail, 'Edit app.py');
    m.apply({
      sessionUpdate: 'tool_call_update',
      toolCallId: 't1',
      status: 'completed',
      content: [
        { type: 'diff', path: '/w/app.py', oldText: 'a\n', newText: 'b\n' },
        { type: 'content', content: { type: 'text', text: 'Edited app.py' } },
      ],
      rawOutput: { isError: false, durationMs: 12.5 },
    });
    const tool = m.view.entries[0];
    assert.ok(tool && tool.kind === 'tool');
    assert.equal(tool.call.status, 'completed');
    assert.deepEqual(tool.call.diffs, [{ path: '/w/app.py', oldText: 'a\n', newText: 'b\n' }]);
    assert.equal(tool.call.output, 'Edited app.py');
    assert.equal(tool.call.durationMs, 12.5);
    assert.deepEqual(tool.call.locations, ['/w/app.py']);
    assert.equal(m.view.activity, 'thinking');
    m.turnEnded({ stopReason: 'end_turn' });
    assert.equal(m.view.activity, 'idle');
    assert.equal(m.view.busy, false);
  });

  it('nests the tool calls of a subagent under the Agent call and finds their permission prompts', () => {
    const m = new SessionModel('s1');
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 'agent1', title: 'Agent (verify): Check', kind: 'think', status: 'pending' });
    const meta = { agentls: { parentToolCallId: 'agent1', agentId: 'sub1', agentType: 'verify' } };
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 'sub1:t1', title: 'verify › Bash: make test', kind: 'execute', status: 'pending', _meta: meta });
    const tools = m.view.entries.flatMap((e) => (e.kind === 'tool' ? [e.call] : []));
    assert.deepEqual(
      tools.map((c) => [c.toolCallId, c.parentToolCallId]),
      [['agent1', null], ['sub1:t1', 'agent1']],
    );
    m.permissionRequested('r1', { ...permission('sub1:t1'), toolCall: { ...permission('sub1:t1').toolCall, title: 'verify › Bash: make test' } });
    assert.equal(tools[1]?.permission?.requestId, 'r1');
    assert.equal(m.view.entries.filter((e) => e.kind === 'tool').length, 2);
  });

  it('nests a subagent call whose permission request came before its tool call', () => {
    const m = new SessionModel('s1');
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 'agent1', title: 'Agent (verify): Check', kind: 'think', status: 'pending' });
    m.permissionRequested('r1', { ...permission('sub1:t1'), toolCall: { ...permission('sub1:t1').toolCall, title: 'verify › Bash: make test' } });
    const meta = { agentls: { parentToolCallId: 'agent1', agentId: 'sub1', agentType: 'verify' } };
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 'sub1:t1', title: 'verify › Bash: make test', kind: 'execute', status: 'pending', _meta: meta });
    const tools = m.view.entries.flatMap((e) => (e.kind === 'tool' ? [e.call] : []));
    assert.deepEqual(
      tools.map((c) => [c.toolCallId, c.parentToolCallId, c.permission?.requestId ?? null]),
      [['agent1', null, null], ['sub1:t1', 'agent1', 'r1']],
    );
  });

  it("shows an Agent call's note (its subagent's requests, tokens and cost) apart from its result", () => {
    const m = new SessionModel('s1');
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 'agent1', title: 'Agent (explore): Find main', kind: 'think', status: 'pending' });
    const note = 'explore agent: 2 requests · 1,234 tokens in, 56 out · $0.0123';
    m.apply({ sessionUpdate: 'tool_call_update', toolCallId: 'agent1', status: 'completed', content: [{ type: 'content', content: { type: 'text', text: 'main is in app.py' } }], rawOutput: { isError: false, durationMs: 3, note } });
    const tool = m.view.entries[0];
    assert.ok(tool && tool.kind === 'tool');
    assert.equal(tool.call.note, note);
    assert.equal(tool.call.output, 'main is in app.py');
  });

  it('marks a failed tool call as an error', () => {
    const m = new SessionModel('s1');
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Bash: false', kind: 'execute', status: 'pending' });
    m.apply({ sessionUpdate: 'tool_call_update', toolCallId: 't1', status: 'failed', content: [{ type: 'content', content: { type: 'text', text: 'exit 1' } }], rawOutput: { isError: true, durationMs: 3 } });
    const tool = m.view.entries[0];
    assert.ok(tool && tool.kind === 'tool');
    assert.equal(tool.call.isError, true);
    assert.equal(tool.call.output, 'exit 1');
  });

  it('puts a permission request on its tool card and records the answer', () => {
    const m = new SessionModel('s1');
    m.turnStarted();
    m.apply({ sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Edit app.py', kind: 'edit', status: 'pending' });
    m.permissionRequested('p1', permission('t1'));
    assert.equal(m.view.entries.length, 1, 'no second card for the same call');
    assert.equal(m.view.activity, 'permission');
    assert.equal(m.view.activityDetail, 'Edit app.py');
    const tool = m.view.entries[0];
    assert.ok(tool && tool.kind === 'tool');
    assert.deepEqual(tool.call.permission?.content, ['edits need approval', '```diff\n-a\n+b\n```']);
    assert.deepEqual(
      tool.call.permission?.options.map((o) => o.name),
      ['Allow once', 'Always allow', 'Reject', 'Always reject'],
    );
    assert.equal(tool.call.output, '', 'the prompt text is not the tool output');
    assert.equal(m.pendingPermissions.length, 1);

    assert.equal(m.permissionAnswered('p1', 'allow_once'), true);
    assert.equal(tool.call.permission, null);
    assert.equal(tool.call.decision, 'Allow once');
    assert.equal(m.view.activity, 'thinking');
    assert.equal(m.permissionAnswered('p1', 'allow_once'), false, 'answered once only');
  });

  it('creates a card for a permission request whose tool call it never saw', () => {
    const m = new SessionModel('s1');
    m.permissionRequested('p9', permission('unseen'));
    const tool = m.view.entries[0];
    assert.ok(tool && tool.kind === 'tool');
    assert.equal(tool.call.title, 'Edit app.py');
    assert.equal(m.view.busy, true);
  });

  it('withdraws pending permissions when the turn ends', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('do it');
    m.permissionRequested('p1', permission('t1'));
    m.turnEnded({ stopReason: 'cancelled' });
    const [, tool, notice] = m.view.entries;
    assert.ok(tool && tool.kind === 'tool');
    assert.equal(tool.call.permission, null);
    assert.equal(tool.call.decision, 'withdrawn');
    assert.equal(tool.call.status, 'failed');
    assert.ok(notice && notice.kind === 'notice');
    assert.equal(notice.text, 'Stopped.');
    assert.equal(m.view.activity, 'idle');
  });

  it('reports a failed turn with the server error message', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('x');
    m.turnEnded({ stopReason: 'error', error: { message: 'overloaded' } });
    const notice = m.view.entries[1];
    assert.ok(notice && notice.kind === 'notice');
    assert.equal(notice.level, 'error');
    assert.match(notice.text, /overloaded/);
  });

  it('keeps the plan, usage and commands the server sends', () => {
    const m = new SessionModel('s1');
    m.apply({
      sessionUpdate: 'plan',
      entries: [
        { content: 'Read', priority: 'medium', status: 'completed' },
        { content: 'Edit', priority: 'medium', status: 'in_progress' },
      ],
    });
    assert.deepEqual(
      m.view.plan.map((p) => p.status),
      ['completed', 'in_progress'],
    );
    assert.equal(m.view.planRev, m.view.rev);
    assert.equal(m.view.commands.length, 0);
    m.apply({ sessionUpdate: 'available_commands_update', availableCommands: [{ name: 'review', description: 'Review' }, { name: '' }] });
    assert.deepEqual(
      m.view.commands.map((c) => c.name),
      ['review'],
    );
  });

  it('says in one line that the session switched to the fallback model', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('x');
    const message = 'claude-sonnet-5-5 was overloaded 3 times in a row: switched to the fallback model claude-haiku-4-5 for the rest of the session';
    assert.equal(m.apply({ sessionUpdate: 'model_fallback', fromModel: 'claude-sonnet-5-5', toModel: 'claude-haiku-4-5', overloads: 3, message }), true);
    const notice = m.view.entries[1];
    assert.ok(notice && notice.kind === 'notice');
    assert.equal(notice.level, 'warning');
    assert.equal(notice.text, `C${message.slice(1)}.`);
    assert.equal(m.view.busy, true);
  });

  it('shows a long API wait as one notice, updated by heartbeats, and nothing for short retries', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('x');
    m.apply({ sessionUpdate: 'api_retry', attempt: 1, delay: 0.5, reason: 'overloaded', longWait: false, heartbeat: false, message: 'API overloaded: retry 1 of 10 in 0.5 s' });
    assert.equal(m.view.entries.length, 1);
    m.apply({ sessionUpdate: 'api_retry', attempt: 2, delay: 240, reason: 'overloaded', longWait: true, heartbeat: false, message: 'API overloaded: retry 2 in 240 s (the API asked to wait)' });
    m.apply({ sessionUpdate: 'api_retry', attempt: 2, delay: 210, reason: 'overloaded', longWait: true, heartbeat: true, message: 'still waiting to retry the API (overloaded): retry 2 in 210 s' });
    assert.equal(m.view.entries.length, 2);
    const notice = m.view.entries[1];
    assert.ok(notice && notice.kind === 'notice');
    assert.equal(notice.level, 'info');
    assert.equal(notice.text, 'Still waiting to retry the API (overloaded): retry 2 in 210 s.');
    // Once something else is shown, the next long wait gets a line of its own.
    m.apply(chunk('partial answer'));
    m.apply({ sessionUpdate: 'api_retry', attempt: 1, delay: 30, reason: 'rate_limited', longWait: true });
    assert.equal(m.view.entries.length, 4);
    const second = m.view.entries[3];
    assert.ok(second && second.kind === 'notice');
    assert.equal(second.text, 'API rate_limited: retrying in 30 s.');
  });

  it('ignores update kinds it does not know', () => {
    const m = new SessionModel('s1');
    const rev = m.view.rev;
    assert.equal(m.apply({ sessionUpdate: 'current_mode_update', currentModeId: 'plan' }), false);
    assert.equal(m.view.rev, rev);
  });

  it('rebuilds a replayed history as it was, without marking the session busy', () => {
    const m = new SessionModel('s1');
    const replay: SessionUpdate[] = [
      { sessionUpdate: 'user_message_chunk', content: { type: 'text', text: 'fix it' } },
      chunk('Reading.'),
      { sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Read', kind: 'read', status: 'pending', rawInput: { file_path: 'a' } },
      { sessionUpdate: 'tool_call_update', toolCallId: 't1', status: 'completed', content: [{ type: 'content', content: { type: 'text', text: '1 a' } }], rawOutput: { isError: false, durationMs: 0 } },
      chunk('Done.'),
    ];
    for (const u of replay) {
      m.apply(u, false);
    }
    assert.deepEqual(
      m.view.entries.map((e) => e.kind),
      ['user', 'agent', 'tool', 'agent'],
    );
    assert.equal(m.view.busy, false);
    assert.equal(m.view.activity, 'idle');
    m.reset();
    assert.equal(m.view.entries.length, 0);
  });

  it('ends a turn it did not start only when no permission is pending', () => {
    const m = new SessionModel('s1');
    m.apply(chunk('working'));
    assert.equal(m.view.busy, true);
    m.permissionRequested('p1', permission('t1'));
    m.externalTurnEnded();
    assert.equal(m.view.busy, true);
    m.permissionAnswered('p1', 'reject_once');
    m.externalTurnEnded();
    assert.equal(m.view.busy, false);
  });

  it('keeps the context, the cost and the tokens of a usage_update after an API call', () => {
    const m = new SessionModel('s1');
    const rev = m.view.rev;
    m.apply({
      sessionUpdate: 'usage_update',
      used: 84_000,
      size: 200_000,
      cost: { amount: 0.43, currency: 'USD' },
      request: { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: 80_000 },
      session: { input_tokens: 10, output_tokens: 3 },
      requestCost: { amount: 0.03, currency: 'USD' },
      purpose: 'turn',
    });
    assert.ok(m.view.rev > rev);
    const u = m.view.usage;
    assert.ok(u);
    assert.equal(u.used, 84_000);
    assert.equal(u.size, 200_000);
    assert.deepEqual(u.cost, { amount: 0.43, currency: 'USD' });
    assert.deepEqual(u.requestCost, { amount: 0.03, currency: 'USD' });
    assert.deepEqual(u.request, { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: 80_000, cache_creation_input_tokens: 0, cache_creation_1h_input_tokens: 0 });
    assert.deepEqual(u.session, { input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_1h_input_tokens: 0 });
  });

  it('keeps the earlier token figures (and cost) when a usage_update has only the context', () => {
    const m = new SessionModel('s1');
    m.apply({ sessionUpdate: 'usage_update', used: 150_000, size: 200_000, cost: { amount: 1.2, currency: 'USD' }, request: { input_tokens: 5 }, session: { input_tokens: 50 }, requestCost: null, purpose: 'turn' });
    // After a compaction: the meter drops, the rest holds (this one does not repeat the cost).
    m.apply({ sessionUpdate: 'usage_update', used: 40_000, size: 200_000 });
    const u = m.view.usage;
    assert.ok(u);
    assert.equal(u.used, 40_000);
    assert.deepEqual(u.cost, { amount: 1.2, currency: 'USD' });
    assert.equal(u.request?.input_tokens, 5);
    assert.equal(u.session?.input_tokens, 50);
    assert.equal(u.requestCost, null);
  });

  it('shows an unknown cost when an API call reports none, and restores the meter from loadSession', () => {
    const m = new SessionModel('s1');
    m.apply({ sessionUpdate: 'usage_update', used: 1000, size: 200_000, request: { input_tokens: 1000 }, session: { input_tokens: 1000 }, requestCost: null, purpose: 'turn' });
    assert.equal(m.view.usage?.cost, null);
    // A reloaded panel: the replay ends with the context and the cost only.
    m.reset();
    assert.equal(m.view.usage, null);
    m.apply({ sessionUpdate: 'usage_update', used: 2048, size: 200_000, cost: { amount: 0.0125, currency: 'USD' } }, false);
    assert.deepEqual(m.view.usage, { used: 2048, size: 200_000, cost: { amount: 0.0125, currency: 'USD' }, request: null, requestCost: null, session: null });
    assert.equal(m.view.busy, false);
  });

  it('shows a compaction that starts and completes as one notice', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('go on');
    m.apply({ sessionUpdate: 'compaction', status: 'started', tier: 'summary', trigger: 'auto', tokensBefore: 150_000, size: 200_000, message: 'compacting the context (summary)' });
    assert.equal(m.view.compacting, true);
    assert.equal(m.view.activity, 'compacting');
    const notice = m.view.entries[1];
    assert.ok(notice && notice.kind === 'compaction');
    assert.equal(notice.compaction.status, 'started');
    const rev = notice.rev;
    m.apply({
      sessionUpdate: 'compaction',
      status: 'completed',
      tier: 'summary',
      trigger: 'auto',
      tokensBefore: 150_000,
      tokensAfter: 40_000,
      size: 200_000,
      message: 'summarised 40 messages',
      summary: '<summary>Goal: …</summary>',
    });
    assert.equal(m.view.entries.length, 2, 'the completed update replaces the started notice');
    assert.ok(notice.rev > rev);
    assert.deepEqual(notice.compaction, {
      status: 'completed',
      tier: 'summary',
      trigger: 'auto',
      tokensBefore: 150_000,
      tokensAfter: 40_000,
      size: 200_000,
      message: 'summarised 40 messages',
      summary: '<summary>Goal: …</summary>',
    });
    assert.equal(m.view.compacting, false);
    assert.equal(m.view.activity, 'thinking', 'the turn goes on');
    // A tier without a model call sends only "completed": a notice of its own, without a summary.
    m.apply({ sessionUpdate: 'compaction', status: 'completed', tier: 'micro', trigger: 'auto', tokensBefore: 41_000, tokensAfter: 30_000, size: 200_000, message: 'cleared 3 old tool result(s)', summary: null });
    const micro = m.view.entries[2];
    assert.ok(micro && micro.kind === 'compaction');
    assert.equal(micro.compaction.summary, null);
    assert.equal(micro.compaction.tier, 'micro');
  });

  it('follows our compact request, and says when nothing was compacted', () => {
    const m = new SessionModel('s1');
    m.compactStarted();
    assert.equal(m.view.compacting, true);
    assert.equal(m.view.busy, false);
    m.apply({ sessionUpdate: 'compaction', status: 'started', tier: 'summary', trigger: 'manual', tokensBefore: 9000, size: 200_000, message: '' });
    m.apply({ sessionUpdate: 'compaction', status: 'completed', tier: 'summary', trigger: 'manual', tokensBefore: 9000, tokensAfter: 2000, size: 200_000, message: 'm', summary: 'S' });
    assert.equal(m.view.compacting, true, 'until the request answers');
    m.compactEnded({ compacted: true, tokensBefore: 9000, tokensAfter: 2000, size: 200_000, message: 'compacted 9,000 → 2,000 tokens' });
    assert.equal(m.view.compacting, false);
    assert.deepEqual(
      m.view.entries.map((e) => e.kind),
      ['compaction'],
    );
    m.compactStarted();
    m.compactEnded({ compacted: false, tokensBefore: 2000, tokensAfter: 2000, size: 200_000, message: 'not compacted: nothing to compact yet' });
    const notice = m.view.entries[1];
    assert.ok(notice && notice.kind === 'notice');
    assert.equal(notice.text, 'Not compacted: nothing to compact yet');
    assert.equal(notice.level, 'info');
    // A compaction that started and was cut short does not spin forever.
    m.compactStarted();
    m.apply({ sessionUpdate: 'compaction', status: 'started', tier: 'summary', trigger: 'manual', tokensBefore: 2000, size: 200_000, message: '' });
    m.compactEnded(null, 'The compaction failed: cancelled');
    const interrupted = m.view.entries[2];
    assert.ok(interrupted && interrupted.kind === 'compaction');
    assert.equal(interrupted.compaction.status, 'interrupted');
    assert.equal(m.view.compacting, false);
  });

  it('states a budget stop with what was spent and the limit', () => {
    const usd = stopNotice({
      stopReason: 'budget_exceeded',
      budget: { kind: 'usd', spent: 0.42, limit: 0.5, projected: 0.55 },
      message: 'the next request (about $0.1300) would bring the session to $0.5500, over its budget of $0.50 (spent so far: $0.4200)',
    });
    assert.equal(usd.level, 'warning');
    assert.equal(
      usd.text,
      "Stopped: the session's budget is reached ($0.42 of $0.50 spent). The next request (about $0.1300) would bring the session to $0.5500, over its budget of $0.50 (spent so far: $0.4200).",
    );
    const tokens = stopNotice({ stopReason: 'budget_exceeded', budget: { kind: 'tokens', spent: 1_900_000, limit: 2_000_000, projected: 2_100_000 } });
    assert.equal(tokens.text, "Stopped: the session's budget is reached (1,900,000 of 2,000,000 tokens used).");
  });

  it('states a context overflow with the sizes and attempts', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('x');
    m.turnEnded({ stopReason: 'context_overflow', context: { tokens: 210_000, size: 200_000, attempts: 3 }, message: 'the conversation does not fit the context window even after compacting.' });
    const notice = m.view.entries[1];
    assert.ok(notice && notice.kind === 'notice');
    assert.equal(notice.level, 'error');
    assert.equal(
      notice.text,
      'Stopped: the conversation no longer fits the context window (210,000 tokens for a 200,000-token window, after 3 compactions). The conversation does not fit the context window even after compacting.',
    );
    assert.equal(stopNotice({ stopReason: 'max_tokens' }).text, 'Stopped: the reply hit the output token limit.');
    assert.equal(stopNotice({ stopReason: 'mystery' }).text, 'Stopped: mystery');
  });
});
