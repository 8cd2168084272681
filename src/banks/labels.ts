/**
 * @module banks/labels
 * The stored text of a label set: a JSON array ('' for none), so any character survives. The
 * store writes it and the worker-thread reader produces it (rows reach the store pre-encoded).
 */

export function encodeLabels(labels: readonly string[]): string {
  return labels.length === 0 ? '' : JSON.stringify(labels);
}

export function decodeLabels(text: string): string[] {
  return text === '' ? [] : (JSON.parse(text) as string[]);
}
