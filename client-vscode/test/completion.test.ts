import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { applyCommand, availableCommands, commandDetail, commandQuery, matchCommands, mentionQuery } from '../src/shared/completion';
import { SessionModel } from '../src/shared/model';
import type { AvailableCommand } from '../src/shared/protocol';

const COMMANDS: AvailableCommand[] = availableCommands({
  commands: [
    { name: 'compact', description: 'Summarise the conversation', argumentHint: '[instructions]', source: 'builtin', label: 'built-in' },
    { name: 'cost', description: 'Tokens and cost', source: 'builtin', label: 'built-in' },
    { name: 'context', description: 'What fills the context window', argumentHint: null, source: 'builtin', label: 'built-in' },
    { name: 'fix-issue', description: 'Fix a GitHub issue', argumentHint: '<number>', source: 'project', label: 'project:frontend' },
  ],
  warnings: [],
});

describe('slash command completion', () => {
  it('keeps the listing in ACP shape with the hint and where a custom command comes from', () => {
    assert.deepEqual(COMMANDS[0], { name: 'compact', description: 'Summarise the conversation', input: { hint: '[instructions]' } });
    assert.deepEqual(COMMANDS[3], { name: 'fix-issue', description: 'Fix a GitHub issue (project:frontend)', input: { hint: '<number>' } });
    assert.deepEqual(availableCommands(null), []);
    assert.deepEqual(availableCommands({ commands: [{ name: '' }, { name: 'ok' }] }).map((c) => c.name), ['ok']);
  });

  it('completes only a command name typed at the start of the prompt', () => {
    assert.equal(commandQuery('/'), '');
    assert.equal(commandQuery('  /co'), 'co');
    assert.equal(commandQuery('/frontend:comp'), 'frontend:comp');
    assert.equal(commandQuery('/cost '), null); // The name is complete: arguments follow.
    assert.equal(commandQuery('//co'), null); // The escape for text that starts with /.
    assert.equal(commandQuery('/usr/bin'), null);
    assert.equal(commandQuery('explain /co'), null);
  });

  it('lists prefix matches first, then names that contain the query, each by name', () => {
    assert.deepEqual(matchCommands('co', COMMANDS).map((c) => c.name), ['compact', 'context', 'cost']);
    assert.deepEqual(matchCommands('IS', COMMANDS).map((c) => c.name), ['fix-issue']);
    assert.deepEqual(matchCommands('t', COMMANDS).map((c) => c.name), ['compact', 'context', 'cost']);
    assert.equal(matchCommands('', COMMANDS).length, 4);
    assert.deepEqual(matchCommands('zz', COMMANDS), []);
  });

  it('shows the argument hint before the description', () => {
    assert.equal(commandDetail({ name: 'compact', description: 'Summarise', input: { hint: '[instructions]' } }), '[instructions] — Summarise');
    assert.equal(commandDetail({ name: 'cost', description: 'Tokens and cost', input: null }), 'Tokens and cost');
  });

  it('replaces the typed partial name and keeps the rest of the prompt', () => {
    assert.deepEqual(applyCommand('/co', 'compact'), { text: '/compact ', caret: 9 });
    assert.deepEqual(applyCommand('/fi 123 now', 'fix-issue'), { text: '/fix-issue 123 now', caret: 11 });
  });

  it('finds the @ mention being typed', () => {
    assert.deepEqual(mentionQuery('look at @src/ap'), { start: 8, query: 'src/ap' });
    assert.deepEqual(mentionQuery('@'), { start: 0, query: '' });
    assert.equal(mentionQuery('mail me@example'), null);
    assert.equal(mentionQuery('@a b'), null);
  });
});

describe('command output in the session view', () => {
  it('shows a command report as its own entry', () => {
    const model = new SessionModel('s1');
    model.addUserPrompt('/cost');
    model.apply({ sessionUpdate: 'command_output', command: 'cost', text: 'Session cost: $0.01', level: 'info', data: {} });
    model.turnEnded({ stopReason: 'end_turn' });
    const last = model.view.entries[model.view.entries.length - 1];
    assert.deepEqual(last && { kind: last.kind, ...(last.kind === 'command' ? { command: last.command, text: last.text, level: last.level } : {}) }, {
      kind: 'command',
      command: 'cost',
      text: 'Session cost: $0.01',
      level: 'info',
    });
    assert.equal(model.view.busy, false);
  });

  it('drops the conversation shown so far after /clear', () => {
    const model = new SessionModel('s1');
    model.addUserPrompt('hello');
    model.apply({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'Hi.' } });
    model.apply({ sessionUpdate: 'plan', entries: [{ content: 'x', status: 'pending' }] });
    model.turnEnded({ stopReason: 'end_turn' });
    model.addUserPrompt('/clear');
    model.apply({ sessionUpdate: 'command_output', command: 'clear', text: 'Conversation cleared.', data: { cleared: true } });
    assert.deepEqual(model.view.entries.map((e) => e.kind), ['command']);
    assert.deepEqual(model.view.plan, []);
  });

  it('keeps the commands the server lists', () => {
    const model = new SessionModel('s1');
    model.setCommands(COMMANDS);
    assert.equal(model.view.commands.length, 4);
  });
});
