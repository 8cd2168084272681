/**
 * @module cli/args
 * Strict argument parsing shared by the commands: unknown flags are usage errors.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { WardError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs(
  argv: string[],
  options: Options,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (cause) {
    throw new WardError('WARD_ERR_USAGE', (cause as Error).message, {}, cause);
  }
}

export function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected a positive integer for \`${flag}\` but received ${JSON.stringify(value)}`,
    );
  }
  return n;
}
