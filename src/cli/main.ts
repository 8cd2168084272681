/**
 * @module cli/main
 * The `ward` command: dispatches to lazily imported commands and is the only error boundary.
 */
import type { Writable } from 'node:stream';
import { WardError } from '../errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';

export interface CommandContext {
  stdout: Writable;
  stderr: Writable;
  stdoutIsTTY: boolean;
  /** Progress bars are drawn only on a terminal. */
  stderrIsTTY?: boolean;
}

const COMMANDS: Record<string, () => Promise<(argv: string[], ctx: CommandContext) => Promise<ExitCode>>> = {
  hash: async () => (await import('./commands/hash.js')).hashCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  bank: async () => (await import('./commands/bank.js')).bankCommand,
  match: async () => (await import('./commands/match.js')).matchCommand,
  scan: async () => (await import('./commands/scan.js')).scanCommand,
  dataset: async () => (await import('./commands/dataset.js')).datasetCommand,
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  text: async () => (await import('./commands/text.js')).textCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  keys: async () => (await import('./commands/keys.js')).keysCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  exchange: async () => (await import('./commands/exchange.js')).exchangeCommand,
};

const USAGES: Record<string, () => Promise<string>> = {
  hash: async () => (await import('./commands/hash.js')).HASH_USAGE,
  demo: async () => (await import('./commands/demo.js')).DEMO_USAGE,
  bank: async () => (await import('./commands/bank.js')).BANK_USAGE,
  match: async () => (await import('./commands/match.js')).MATCH_USAGE,
  scan: async () => (await import('./commands/scan.js')).SCAN_USAGE,
  dataset: async () => (await import('./commands/dataset.js')).DATASET_USAGE,
  inspect: async () => (await import('./commands/inspect.js')).INSPECT_USAGE,
  text: async () => (await import('./commands/text.js')).TEXT_USAGE,
  serve: async () => (await import('./commands/serve.js')).SERVE_USAGE,
  keys: async () => (await import('./commands/keys.js')).KEYS_USAGE,
  audit: async () => (await import('./commands/audit.js')).AUDIT_USAGE,
  report: async () => (await import('./commands/report.js')).REPORT_USAGE,
  exchange: async () => (await import('./commands/exchange.js')).EXCHANGE_USAGE,
};

export const MAIN_USAGE = `Usage: ward <command> [options]

Commands:
  scan    scan files, folders and archives: fingerprints, bank matches, verdicts
  dataset audit training datasets (LAION parquet, WebDataset, HF parquet, folders, COCO):
          hashes, URL hashes and captions; never fetches a URL
  inspect what a file is without running it (models: kind, base, hashes, training tags, pickles;
          images: AI-generation provenance, C2PA, watermark)
  hash    fingerprint images (PDQ, MD5, SHA-1, SHA-256)
  bank    manage hash lists (create, import, export, list, stats, rm)
  match   match images or hashes against banks
  text    screen prompts, captions, tag maps, titles and posts (minors, sexual terms)
  demo    build a stand-in bank from generated images and scan a demo folder
  serve   the HTTP service: API, review queue and review UI
  keys    API keys of the service (create, list, revoke)
  audit   the service's audit log (verify the hash chain, list)
  report  reports to NCMEC's CyberTipline and the UK NCA (build, submit, status, retract, nca)
  exchange hash exchanges filling banks (NCMEC, files): add, sync, status, rm

ward <command> --help shows a command's options.`;

/** Runs the CLI and returns the exit status; never calls process.exit itself. */
export async function main(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      ctx.stdout.write(`${MAIN_USAGE}\n`);
      return name === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (name === '--version' || name === '-v') {
      const { VERSION } = await import('../version.js');
      ctx.stdout.write(`${VERSION}\n`);
      return EXIT.OK;
    }
    const load = COMMANDS[name];
    if (!load) throw new WardError('WARD_ERR_USAGE', `Unknown command ${JSON.stringify(name)}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.stdout.write(`${await (USAGES[name] as () => Promise<string>)()}\n`);
      return EXIT.OK;
    }
    return await (await load())(rest, ctx);
  } catch (error) {
    return report(error, ctx);
  }
}

function report(error: unknown, ctx: CommandContext): ExitCode {
  if (WardError.is(error)) {
    ctx.stderr.write(`ward: ${error.code}: ${error.message}\n`);
    if (error.kind === 'config') {
      ctx.stderr.write('Run `ward --help` for usage.\n');
      return EXIT.USAGE;
    }
    if (error.kind === 'dependency') return EXIT.DEPENDENCY;
    if (error.kind === 'internal') return EXIT.INTERNAL;
    return EXIT.ITEM_ERRORS;
  }
  // Not ours: say it is a bug, without echoing paths or content from the message.
  const name = error instanceof Error ? error.name : typeof error;
  ctx.stderr.write(`ward: internal error (${name}). This is a bug, please report it.\n`);
  if (process.env.WARD_DEBUG && error instanceof Error) ctx.stderr.write(`${error.stack ?? ''}\n`);
  return EXIT.INTERNAL;
}
