/**
 * Token counts and an estimated cost for the panel's header.
 *
 * The server reports tokens (`usage_update`), not money. Unless it sends a `cost`, the panel shows
 * an estimate from list prices per million tokens, labelled "≈"; for an unknown model, tokens only.
 */

import type { TokenUsage } from './protocol';

interface Price {
  input: number;
  output: number;
}

/** USD per million tokens, by model family; cache reads cost 0.1× input, cache writes 1.25×. */
const PRICES: [RegExp, Price][] = [
  [/opus-4-(0|1)|opus-4-2025|claude-3-opus/, { input: 15, output: 75 }],
  [/opus/, { input: 5, output: 25 }],
  [/sonnet/, { input: 3, output: 15 }],
  [/claude-3-5-haiku|claude-3-haiku/, { input: 0.8, output: 4 }],
  [/haiku/, { input: 1, output: 5 }],
];

export function priceFor(model: string): Price | null {
  for (const [pattern, price] of PRICES) {
    if (pattern.test(model)) {
      return price;
    }
  }
  return null;
}

export function estimateCost(model: string, usage: TokenUsage): number | null {
  const price = priceFor(model);
  if (price === null) {
    return null;
  }
  const input = usage.input_tokens ?? 0;
  const output = usage.output_tokens ?? 0;
  const read = usage.cache_read_input_tokens ?? 0;
  const write = usage.cache_creation_input_tokens ?? 0;
  return (input * price.input + read * price.input * 0.1 + write * price.input * 1.25 + output * price.output) / 1e6;
}

/** 950 → "950", 12345 → "12.3k", 2500000 → "2.5M". */
export function formatTokens(n: number): string {
  if (n < 1000) {
    return String(Math.round(n));
  }
  if (n < 1e6) {
    return `${(n / 1000).toFixed(n < 1e4 ? 1 : 0).replace(/\.0$/, '')}k`;
  }
  return `${(n / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
}

export function formatCost(amount: number, currency = 'USD'): string {
  const symbol = currency === 'USD' ? '$' : `${currency} `;
  if (amount > 0 && amount < 0.01) {
    return `${symbol}${amount.toFixed(4)}`;
  }
  return `${symbol}${amount.toFixed(2)}`;
}

export interface UsageSummary {
  /** e.g. "in 12.3k · out 1.2k · cached 10k" */
  tokens: string;
  /** e.g. "≈$0.04", "$0.04" when the server sent the cost, "" if unknown. */
  cost: string;
  /** Tooltip with every count. */
  detail: string;
}

export function summarizeUsage(
  usage: Required<TokenUsage>,
  model: string,
  serverCost: { amount: number; currency: string } | null,
): UsageSummary {
  const input = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
  const parts = [`in ${formatTokens(input)}`, `out ${formatTokens(usage.output_tokens)}`];
  if (usage.cache_read_input_tokens > 0) {
    parts.push(`cached ${formatTokens(usage.cache_read_input_tokens)}`);
  }
  let cost = '';
  if (serverCost !== null) {
    cost = formatCost(serverCost.amount, serverCost.currency);
  } else {
    const estimate = estimateCost(model, usage);
    cost = estimate === null ? '' : `≈${formatCost(estimate)}`;
  }
  const detail = [
    `input ${usage.input_tokens}`,
    `cache read ${usage.cache_read_input_tokens}`,
    `cache write ${usage.cache_creation_input_tokens}`,
    `output ${usage.output_tokens}`,
    serverCost === null && cost !== '' ? `cost estimated from ${model} list prices` : '',
  ]
    .filter((s) => s !== '')
    .join(' · ');
  return { tokens: parts.join(' · '), cost, detail };
}
