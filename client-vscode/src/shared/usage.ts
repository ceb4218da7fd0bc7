/**
 * The context meter, the cost and the compaction notices, as text for the panel.
 *
 * Every figure comes from the server (`usage_update`, `compaction`): the context in use, the
 * window, and the session's cost in the server's currency (computed from its model price table).
 * Nothing is estimated here: an unknown price shows as "cost unknown".
 */

import type { Money, TokenUsage } from './protocol';

/** 950 → "950", 1234 → "1.2k", 84000 → "84k", 2500000 → "2.5M". */
export function formatTokens(n: number): string {
  if (n < 1000) {
    return String(Math.round(n));
  }
  if (n < 1e6) {
    return `${(n / 1000).toFixed(n < 1e4 ? 1 : 0).replace(/\.0$/, '')}k`;
  }
  return `${(n / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
}

/** An exact count with thousands separators: 150000 → "150,000". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The share of the window in use: "42%", "<1%" for a little, "0%" for nothing. */
export function formatPercent(used: number, size: number): string {
  if (!(size > 0) || used <= 0) {
    return '0%';
  }
  const percent = (used / size) * 100;
  return percent < 1 ? '<1%' : `${Math.round(percent)}%`;
}

/**
 * $0.43; four decimals below a cent ($0.0012) so a cheap session does not read $0.00, and always
 * with `exact` (for tooltips).
 */
export function formatCost(amount: number, currency = 'USD', exact = false): string {
  const symbol = currency === 'USD' ? '$' : `${currency} `;
  if (exact || (amount > 0 && amount < 0.01)) {
    return `${symbol}${amount.toFixed(4)}`;
  }
  return `${symbol}${amount.toFixed(2)}`;
}

/** What the panel knows about a session's context and cost (see `SessionModel`). */
export interface UsageView {
  /** Context tokens in use and the window; null until the server has said. */
  used: number | null;
  size: number | null;
  /** The session's cost; null when the model's price is unknown. */
  cost: Money | null;
  /** The last API call's tokens and cost, and the session's tokens; null until a call was made. */
  request: Required<TokenUsage> | null;
  requestCost: Money | null;
  session: Required<TokenUsage> | null;
}

export type MeterLevel = 'ok' | 'warn' | 'high';

export interface MeterView {
  /** 0..1, for the bar (a context over the window shows full). */
  fraction: number;
  /** e.g. "42% · 84k / 200k", or "no requests yet". */
  text: string;
  /** Every exact figure, one per line. */
  tooltip: string;
  /** `warn` from 60 % (micro-compaction's default threshold), `high` from 80 % (the summary's). */
  level: MeterLevel;
  /** e.g. "$0.43", "cost unknown", or "" before the server said anything. */
  cost: string;
  costTooltip: string;
}

export function meterView(usage: UsageView | null): MeterView {
  const used = usage?.used ?? null;
  const size = usage?.size ?? null;
  const lines: string[] = [];
  let text = 'no requests yet';
  let fraction = 0;
  let level: MeterLevel = 'ok';
  if (used !== null && size !== null && size > 0) {
    fraction = Math.min(1, Math.max(0, used / size));
    level = fraction >= 0.8 ? 'high' : fraction >= 0.6 ? 'warn' : 'ok';
    text = `${formatPercent(used, size)} · ${formatTokens(used)} / ${formatTokens(size)}`;
    lines.push(`Context: ${formatCount(used)} of ${formatCount(size)} tokens (${formatPercent(used, size)} of the window)`);
  } else {
    lines.push('Context: no model request yet in this session');
  }
  const request = usage?.request ?? null;
  if (request !== null) {
    const requestCost = usage?.requestCost ? ` · ${formatCost(usage.requestCost.amount, usage.requestCost.currency, true)}` : '';
    lines.push(`Last request: ${tokenLine(request)}${requestCost}`);
  }
  const session = usage?.session ?? null;
  if (session !== null) {
    lines.push(`Session: ${tokenLine(session)}`);
  }
  const money = usage?.cost ?? null;
  if (usage === null) {
    return { fraction, text, tooltip: lines.join('\n'), level, cost: '', costTooltip: '' };
  }
  const cost = money === null ? 'cost unknown' : formatCost(money.amount, money.currency);
  const costTooltip =
    money === null
      ? "The session's cost is unknown: the server has no price for this model."
      : `The session's cost so far: ${formatCost(money.amount, money.currency, true)}, compaction requests included.`;
  lines.push(money === null ? 'Cost: unknown (no price for this model)' : `Cost: ${formatCost(money.amount, money.currency, true)} for the session`);
  return { fraction, text, tooltip: lines.join('\n'), level, cost, costTooltip };
}

/** "12,345 in (10,000 cache read, 2,000 cache write) · 456 out". */
function tokenLine(u: Required<TokenUsage>): string {
  const input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
  const parts: string[] = [];
  if (u.cache_read_input_tokens > 0) {
    parts.push(`${formatCount(u.cache_read_input_tokens)} cache read`);
  }
  if (u.cache_creation_input_tokens > 0) {
    const hour = u.cache_creation_1h_input_tokens > 0 ? `, ${formatCount(u.cache_creation_1h_input_tokens)} for 1 h` : '';
    parts.push(`${formatCount(u.cache_creation_input_tokens)} cache write${hour}`);
  }
  const detail = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  return `${formatCount(input)} in${detail} · ${formatCount(u.output_tokens)} out`;
}

export interface CompactionView {
  /** `interrupted`: started, and the turn or request ended without a result. */
  status: 'started' | 'completed' | 'interrupted';
  tier: string;
  trigger: string;
  tokensBefore: number | null;
  tokensAfter: number | null;
  size: number | null;
  message: string;
  summary: string | null;
}

const TRIGGER_TEXT: Record<string, string> = {
  auto: 'automatic',
  manual: 'requested',
  reactive: 'the request was too long',
};

/** The notice's one line: "Context compacted (summary): 150,000 → 40,000 tokens". */
export function compactionText(c: CompactionView): string {
  switch (c.status) {
    case 'started':
      return `Compacting the context (${c.tier}${c.tokensBefore !== null ? `, ${formatCount(c.tokensBefore)} tokens` : ''})…`;
    case 'interrupted':
      return `Compaction (${c.tier}) did not finish.`;
    default: {
      const sizes = c.tokensBefore !== null && c.tokensAfter !== null ? `: ${formatCount(c.tokensBefore)} → ${formatCount(c.tokensAfter)} tokens` : '';
      return `Context compacted (${c.tier})${sizes}`;
    }
  }
}

/** The notice's tooltip: the trigger, the window and the server's own line. */
export function compactionDetail(c: CompactionView): string {
  const parts = [`trigger: ${TRIGGER_TEXT[c.trigger] ?? c.trigger}`];
  if (c.size !== null) {
    parts.push(`window: ${formatCount(c.size)} tokens`);
  }
  if (c.message) {
    parts.push(c.message);
  }
  return parts.join(' · ');
}
