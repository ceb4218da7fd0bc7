/**
 * Line diffs for showing an edit (ACP `diff` content carries the whole old and new file).
 * Myers' O(ND) algorithm on the lines between the common prefix and suffix, then unified hunks.
 */

export type DiffLine = { op: ' ' | '+' | '-'; text: string; oldNo: number | null; newNo: number | null };

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: DiffLine[];
}

export interface FileDiff {
  hunks: Hunk[];
  added: number;
  removed: number;
  /** The change was too large to diff line by line; `hunks` is empty. */
  tooLarge: boolean;
}

/** Edit distance beyond which we stop (the cost is O((N+M)·D)). */
const MAX_D = 1500;

export function splitLines(text: string): string[] {
  if (text === '') {
    return [];
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** The edit script from `a` to `b` (a list of ops), or null if it needs more than MAX_D changes. */
function myers(a: string[], b: string[]): Op[] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // For each d, the part of v that round d read (diagonals -d-1 .. d+1), for the backtrack.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, MAX_D); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0));
      let x = down ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        return backtrack(trace, n, m, d);
      }
    }
  }
  return null;
}

type Op = ' ' | '+' | '-';

function backtrack(trace: Int32Array[], n: number, m: number, dEnd: number): Op[] {
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = dEnd; d > 0; d--) {
    const saved = trace[d];
    if (saved === undefined) {
      break;
    }
    // saved[i] is v[k] for k = i - d - 1.
    const at = (k: number): number => saved[k + d + 1] ?? 0;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push(' ');
      x--;
      y--;
    }
    ops.push(x === prevX ? '+' : '-');
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    ops.push(' ');
    x--;
    y--;
  }
  return ops.reverse();
}

export function diffLines(oldText: string | null, newText: string, context = 3): FileDiff {
  const a = splitLines(oldText ?? '');
  const b = splitLines(newText);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) {
    pre++;
  }
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) {
    suf++;
  }
  const midA = a.slice(pre, a.length - suf);
  const midB = b.slice(pre, b.length - suf);
  const midOps = myers(midA, midB);
  if (midOps === null) {
    return { hunks: [], added: midB.length, removed: midA.length, tooLarge: true };
  }
  const ops: Op[] = [...Array<' '>(pre).fill(' '), ...midOps, ...Array<' '>(suf).fill(' ')];
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  let added = 0;
  let removed = 0;
  for (const op of ops) {
    if (op === ' ') {
      lines.push({ op, text: a[i] ?? '', oldNo: i + 1, newNo: j + 1 });
      i++;
      j++;
    } else if (op === '-') {
      lines.push({ op, text: a[i] ?? '', oldNo: i + 1, newNo: null });
      i++;
      removed++;
    } else {
      lines.push({ op, text: b[j] ?? '', oldNo: null, newNo: j + 1 });
      j++;
      added++;
    }
  }
  return { hunks: toHunks(lines, context), added, removed, tooLarge: false };
}

function toHunks(lines: DiffLine[], context: number): Hunk[] {
  const changed = lines.map((l, idx) => (l.op === ' ' ? -1 : idx)).filter((idx) => idx >= 0);
  const hunks: Hunk[] = [];
  let k = 0;
  while (k < changed.length) {
    const first = changed[k] ?? 0;
    let last = first;
    while (k + 1 < changed.length && (changed[k + 1] ?? 0) - last <= 2 * context + 1) {
      k++;
      last = changed[k] ?? last;
    }
    k++;
    const from = Math.max(0, first - context);
    const to = Math.min(lines.length, last + context + 1);
    const slice = lines.slice(from, to);
    const oldNos = slice.map((l) => l.oldNo).filter((n): n is number => n !== null);
    const newNos = slice.map((l) => l.newNo).filter((n): n is number => n !== null);
    hunks.push({
      oldStart: oldNos[0] ?? startBefore(lines, from, 'oldNo'),
      oldLines: oldNos.length,
      newStart: newNos[0] ?? startBefore(lines, from, 'newNo'),
      newLines: newNos.length,
      lines: slice,
    });
  }
  return hunks;
}

/** Unified-diff convention for an empty side: the line before the hunk (0 at the top). */
function startBefore(lines: DiffLine[], from: number, key: 'oldNo' | 'newNo'): number {
  for (let idx = from - 1; idx >= 0; idx--) {
    const no = lines[idx]?.[key];
    if (no !== null && no !== undefined) {
      return no;
    }
  }
  return 0;
}
