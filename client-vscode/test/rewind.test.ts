import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SessionModel } from '../src/shared/model';
import { promptText, type Mention, promptBlocks } from '../src/shared/prompt';
import { REWIND_FAILED, SESSION_BUSY, SESSION_NOT_FOUND, type RewindResult, type SessionUpdate } from '../src/shared/protocol';
import { promptDraft, rewindErrorText, rewindNotice, rewindParams, rewindPreview } from '../src/shared/rewind';

const user = (text: string): SessionUpdate => ({ sessionUpdate: 'user_message_chunk', content: { type: 'text', text } });
const agent = (text: string): SessionUpdate => ({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text } });
const checkpoint = (n: number, kind = 'prompt'): SessionUpdate => ({ sessionUpdate: 'checkpoint', checkpoint: n, kind, label: `checkpoint ${n}` });

function users(m: SessionModel): [string, number | null][] {
  return m.view.entries.flatMap((e) => (e.kind === 'user' ? [[e.text, e.checkpoint] as [string, number | null]] : []));
}

describe('checkpoints on user messages', () => {
  it('attaches a live prompt checkpoint to the message just sent', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('first');
    assert.equal(m.apply(checkpoint(1)), true);
    m.apply(agent('Done.'));
    m.turnEnded({ stopReason: 'end_turn' });
    m.addUserPrompt('second');
    const rev = m.view.entries[2]?.rev ?? 0;
    m.apply(checkpoint(2));
    assert.deepEqual(users(m), [
      ['first', 1],
      ['second', 2],
    ]);
    // The message's revision moved, so the panel redraws it with its "Restore to here".
    assert.ok((m.view.entries[2]?.rev ?? 0) > rev);
  });

  it('attaches replayed checkpoints to the message before them', () => {
    const m = new SessionModel('s1');
    for (const u of [user('Say hello first'), checkpoint(1), agent('Hello.'), user('Shout'), user(' the greeting'), checkpoint(2), agent('Done.')]) {
      m.apply(u, false);
    }
    assert.deepEqual(users(m), [
      ['Say hello first', 1],
      ['Shout the greeting', 2],
    ]);
  });

  it('keeps two replayed prompts with nothing between them apart', () => {
    // A turn cancelled before the model said anything: the next prompt follows at once.
    const m = new SessionModel('s1');
    for (const u of [user('one'), checkpoint(1), user('two'), checkpoint(2)]) {
      m.apply(u, false);
    }
    assert.deepEqual(users(m), [
      ['one', 1],
      ['two', 2],
    ]);
  });

  it('ignores subagent and rewind checkpoints, and keeps a message its first checkpoint', () => {
    const m = new SessionModel('s1');
    m.apply(checkpoint(1), false); // No message yet: nothing to attach it to.
    m.addUserPrompt('go');
    m.apply(checkpoint(2));
    m.apply(checkpoint(3, 'subagent'));
    m.apply(checkpoint(4, 'rewind'));
    m.apply(checkpoint(5)); // A turn started elsewhere (a code action) shows no message here.
    assert.deepEqual(users(m), [['go', 2]]);
    assert.equal(m.view.entries.length, 1);
  });

  it('finds a user message by id and forgets checkpoints on reset', () => {
    const m = new SessionModel('s1');
    m.addUserPrompt('go');
    m.apply(checkpoint(1));
    const id = m.view.entries[0]?.id ?? '';
    assert.equal(m.userEntry(id)?.checkpoint, 1);
    assert.equal(m.userEntry('nope'), null);
    m.reset();
    assert.deepEqual(users(m), []);
  });
});

const DRY_RUN: RewindResult = {
  to: 2,
  kind: 'prompt',
  label: 'prompt 2',
  prompt: 'Shout the greeting\nand more',
  files: [
    { path: 'app.py', action: 'restore', why: null },
    { path: 'made.txt', action: 'delete', why: null },
    { path: 'old.txt', action: 'create', why: null },
    { path: 'notes.md', action: 'conflict', why: 'changed since the agent wrote it' },
    { path: 'big.bin', action: 'not_restorable', why: 'larger than 4 MiB' },
  ],
  conflicts: ['notes.md'],
  notRestorable: ['big.bin'],
  part: 'both',
  dryRun: true,
  restored: [],
  kept: [],
  undo: null,
  conversation: false,
  message: 'rewind to checkpoint 2: 3 file(s) would change, 1 conflict(s)',
};

describe('the rewind preview', () => {
  it('groups the dry run: files that change, conflicts, files that cannot be restored', () => {
    const p = rewindPreview(DRY_RUN);
    assert.equal(p.checkpoint, 2);
    assert.equal(p.title, 'Restore to checkpoint 2');
    assert.equal(p.subtitle, 'Before “Shout the greeting”');
    assert.deepEqual(
      p.changes.map((c) => [c.path, c.verb]),
      [
        ['app.py', 'restore'],
        ['made.txt', 'remove'],
        ['old.txt', 'bring back'],
      ],
    );
    assert.deepEqual(p.conflicts, [{ path: 'notes.md', why: 'changed since the agent wrote it' }]);
    assert.deepEqual(p.notRestorable, [{ path: 'big.bin', why: 'larger than 4 MiB' }]);
    assert.equal(p.summary, '3 files will change · 1 conflict · 1 not restorable');
    assert.deepEqual(
      p.choices.map((c) => [c.part, c.label, c.enabled, c.primary]),
      [
        ['both', 'Restore code and conversation', true, true],
        ['code', 'Restore code only', true, false],
        ['conversation', 'Restore conversation only', true, false],
      ],
    );
  });

  it('has nothing to restore in code when no file differs', () => {
    const p = rewindPreview({ to: 1, label: 'prompt 1', prompt: null, files: [], conflicts: [], notRestorable: [] });
    assert.equal(p.subtitle, 'prompt 1');
    assert.equal(p.summary, 'No file the agent changed since this message differs.');
    assert.deepEqual(
      p.choices.map((c) => c.enabled),
      [true, false, true],
    );
  });

  it('takes conflicts listed only by path, and skips malformed steps', () => {
    const p = rewindPreview({ to: 3, files: [{ path: 'a.py', action: 'restore' }, { action: 'restore' } as never, null as never], conflicts: ['b.py'] });
    assert.deepEqual(
      p.changes.map((c) => c.path),
      ['a.py'],
    );
    assert.deepEqual(p.conflicts, [{ path: 'b.py', why: 'changed by someone else after the agent' }]);
    assert.equal(p.summary, '1 file will change · 1 conflict');
  });

  it('asks for the choice, overwriting only the ticked conflicts the preview listed', () => {
    const p = rewindPreview(DRY_RUN);
    assert.deepEqual(rewindParams('s1', p, 'both', []), { sessionId: 's1', to: 2, part: 'both', dryRun: false, overwrite: [] });
    assert.deepEqual(rewindParams('s1', p, 'code', ['notes.md', 'notes.md', 'elsewhere.py']).overwrite, ['notes.md']);
    assert.deepEqual(rewindParams('s1', p, 'conversation', ['notes.md']).overwrite, []);
  });

  it('says what happened as a sentence, a warning when conflicting files were kept', () => {
    const done = { ...DRY_RUN, dryRun: false, conversation: true, restored: ['app.py'], undo: 3, message: 'rewound to checkpoint 2: 1 file(s) restored (undo: rewind to checkpoint 3)' };
    assert.deepEqual(rewindNotice(done), { level: 'info', text: 'Rewound to checkpoint 2: 1 file(s) restored (undo: rewind to checkpoint 3).' });
    assert.equal(rewindNotice({ ...done, kept: ['notes.md'] }).level, 'warning');
    assert.equal(rewindNotice({ to: 4 }).text, 'Rewound to checkpoint 4.');
  });

  it('explains the server errors', () => {
    assert.equal(rewindErrorText(SESSION_BUSY, 'Session busy: a turn is running'), 'A turn is running: restore when it has ended.');
    assert.equal(rewindErrorText(REWIND_FAILED, 'Rewind failed: no checkpoint 7'), 'Nothing was restored: no checkpoint 7');
    assert.match(rewindErrorText(SESSION_NOT_FOUND, "no session 'x'"), /does not know this session/);
    assert.equal(rewindErrorText(undefined, 'connection closed'), 'The rewind failed: connection closed');
  });
});

describe('the rewound prompt back in the composer', () => {
  const label = (uri: string): string => uri.replace('file:///w/', '').split('#')[0] ?? uri;

  it('gives the text back with its mentions as chips', () => {
    const mentions: Mention[] = [
      { kind: 'file', uri: 'file:///w/util.py', label: 'util.py' },
      { kind: 'selection', uri: 'file:///w/app.py', label: 'app.py', text: 'x = 1\ny = 2', startLine: 3, endLine: 4, languageId: '' },
      { kind: 'selection', uri: 'file:///w/b.py', label: 'b.py', text: 'z', startLine: 7, endLine: 7, languageId: '' },
    ];
    const sent = promptText(promptBlocks('Explain this\nplease', mentions));
    const draft = promptDraft(sent, label);
    // Sent again, it is the same prompt.
    assert.equal(promptText(promptBlocks(draft.text, draft.mentions)), sent);
    assert.equal(draft.text, 'Explain this\nplease');
    assert.deepEqual(draft.mentions, [
      { kind: 'file', uri: 'file:///w/util.py', label: 'util.py' },
      { kind: 'selection', uri: 'file:///w/app.py', label: 'app.py', text: 'x = 1\ny = 2', startLine: 3, endLine: 4, languageId: '' },
      { kind: 'selection', uri: 'file:///w/b.py', label: 'b.py', text: 'z', startLine: 7, endLine: 7, languageId: '' },
    ]);
  });

  it('leaves plain text alone', () => {
    assert.deepEqual(promptDraft('Shout the greeting', label), { text: 'Shout the greeting', mentions: [] });
    assert.deepEqual(promptDraft('see @file:///w/a.py here\n@file:///w/a.py#L2:\nno fence', label), {
      text: 'see @file:///w/a.py here\n@file:///w/a.py#L2:\nno fence',
      mentions: [],
    });
  });
});
