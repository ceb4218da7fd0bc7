import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { diffLines, splitLines } from '../src/shared/diff';

function unified(oldText: string | null, newText: string, context = 3): string {
  return diffLines(oldText, newText, context)
    .hunks.map((h) => [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines.map((l) => `${l.op}${l.text}`)].join('\n'))
    .join('\n');
}

/** Applying the diff's lines gives back both texts. */
function checkRoundTrip(oldText: string, newText: string): void {
  const d = diffLines(oldText, newText, 1_000_000);
  const lines = d.hunks.flatMap((h) => h.lines);
  if (d.hunks.length === 0) {
    assert.equal(oldText, newText);
    return;
  }
  assert.deepEqual(lines.filter((l) => l.op !== '+').map((l) => l.text), splitLines(oldText));
  assert.deepEqual(lines.filter((l) => l.op !== '-').map((l) => l.text), splitLines(newText));
}

describe('diffLines', () => {
  it('shows one changed line with its context', () => {
    const old = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const neu = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    assert.equal(unified(old, neu), '@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h');
    const d = diffLines(old, neu);
    assert.equal(d.added, 1);
    assert.equal(d.removed, 1);
  });

  it('numbers the lines of both sides', () => {
    const d = diffLines('x\ny\n', 'x\nnew\ny\n');
    const lines = d.hunks[0]?.lines ?? [];
    assert.deepEqual(
      lines.map((l) => [l.op, l.oldNo, l.newNo]),
      [
        [' ', 1, 1],
        ['+', null, 2],
        [' ', 2, 3],
      ],
    );
  });

  it('treats a new file as all additions', () => {
    const d = diffLines(null, 'one\ntwo\n');
    assert.equal(d.added, 2);
    assert.equal(d.removed, 0);
    assert.equal(unified(null, 'one\ntwo\n'), '@@ -0,0 +1,2 @@\n+one\n+two');
  });

  it('splits far-apart changes into separate hunks', () => {
    const old = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const neu = old.replace('line 2\n', 'LINE 2\n').replace('line 25\n', 'LINE 25\n');
    assert.equal(diffLines(old, neu).hunks.length, 2);
  });

  it('finds no change in equal texts', () => {
    const d = diffLines('a\nb\n', 'a\nb\n');
    assert.deepEqual(d.hunks, []);
    assert.equal(d.added + d.removed, 0);
  });

  it('round-trips a deterministic set of random edits', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: rand(12) }, () => 'abcd'[rand(4)] ?? 'a');
      const b = a.slice();
      for (let k = rand(5); k > 0; k--) {
        const op = rand(3);
        const at = rand(b.length + 1);
        if (op === 0) {
          b.splice(at, 0, 'xyz'[rand(3)] ?? 'x');
        } else if (op === 1 && b.length > 0) {
          b.splice(Math.min(at, b.length - 1), 1);
        } else if (b.length > 0) {
          b[Math.min(at, b.length - 1)] = 'q';
        }
      }
      checkRoundTrip(a.map((l) => `${l}\n`).join(''), b.map((l) => `${l}\n`).join(''));
    }
  });

  it('gives up on a huge rewrite instead of stalling', () => {
    const old = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
    const neu = Array.from({ length: 3000 }, (_, i) => `b${i}`).join('\n');
    const d = diffLines(old, neu);
    assert.equal(d.tooLarge, true);
    assert.equal(d.added, 3000);
  });
});
