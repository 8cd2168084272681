/**
 * @module cli/commands/text
 * `ward text [--context C] [--format json|ndjson] [--redact] [--whole] [--negative N]
 * [TEXT | --file F | -]`: screens texts (prompts, negative prompts, captions, tag maps, titles,
 * posts) and prints one verdict per text.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { WardError } from '../../errors.js';
import { screenPromptPair, screenText } from '../../text/screen.js';
import { TEXT_CONTEXTS, type TextContext, type TextVerdict } from '../../text/types.js';
import { parseCommandArgs } from '../args.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { RecordWriter } from '../output.js';

export const TEXT_USAGE = `Usage: ward text [options] [TEXT | --file F | -]

Screens text for sexual content involving minors (prompts, negative prompts, captions, tag maps,
titles, posts): block, review or allow, with the rules and spans (offsets in the original text)
that decided. Input: TEXT, or one text per line from --file F or standard input (-).

Options:
  --context C          prompt (default), negativePrompt, caption, tags, title, post; for tags,
                       each text is a JSON tag map ({"tag": count}, ss_tag_frequency) or
                       comma-separated tags
  --format F           ndjson (default: one verdict per line) or json (one array)
  --redact             leave terms and matched text out of the output: spans only
  --file F             read texts from F, one per line (- for standard input)
  --whole              read the file or standard input as one text, not one per line
  --negative TEXT      the negative prompt of TEXT: screens the pair (prompt context)

Exit status: 0 every text is allow, 1 some text is block or review, 3 usage error.`;

type Record_ = TextVerdict & { line?: number };

export async function textCommand(argv: string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    context: { type: 'string' },
    format: { type: 'string' },
    redact: { type: 'boolean' },
    file: { type: 'string' },
    whole: { type: 'boolean' },
    negative: { type: 'string' },
  });
  const context = (values.context as string | undefined) ?? 'prompt';
  if (!(TEXT_CONTEXTS as readonly string[]).includes(context))
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected one of ${TEXT_CONTEXTS.join(', ')} for \`--context\` but received ${JSON.stringify(context)}`,
    );
  const format = (values.format as string | undefined) ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'json')
    throw new WardError(
      'WARD_ERR_USAGE',
      `Expected ndjson or json for \`--format\` but received ${JSON.stringify(format)}`,
    );
  const file = values.file as string | undefined;
  if (positionals.length > 1)
    throw new WardError('WARD_ERR_USAGE', 'ward text takes one TEXT (quote it), --file F or -');
  const positional = positionals[0];
  if (file !== undefined && positional !== undefined)
    throw new WardError('WARD_ERR_USAGE', 'Give either TEXT or --file, not both');
  const fromStdin = positional === '-' || file === '-';
  const source = fromStdin ? '-' : file;
  if (source === undefined && positional === undefined)
    throw new WardError('WARD_ERR_USAGE', 'ward text needs TEXT, --file F or - (standard input)');
  const negative = values.negative as string | undefined;
  if (negative !== undefined && (source !== undefined || context !== 'prompt'))
    throw new WardError('WARD_ERR_USAGE', '--negative goes with a prompt given as TEXT (context prompt)');
  const redact = values.redact === true;
  const screen = (text: string): TextVerdict =>
    negative !== undefined
      ? screenPromptPair({ prompt: text, negativePrompt: negative }, { redact })
      : screenText(text, { context: context as TextContext, redact });

  const writer = new RecordWriter<Record_>(ctx.stdout, format, () => '');
  let flagged = false;
  const emit = async (v: Record_) => {
    if (v.verdict !== 'allow') flagged = true;
    await writer.add(v);
  };
  if (source === undefined) {
    await emit(screen(positional as string));
  } else {
    const input = openInput(source);
    if (values.whole === true) {
      let text = '';
      input.setEncoding('utf8');
      for await (const chunk of input) text += chunk as string;
      await emit(screen(text));
    } else {
      const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      let n = 0;
      for await (const line of lines) {
        n++;
        await emit({ line: n, ...screen(line) });
      }
    }
  }
  await writer.end();
  return flagged ? EXIT.FOUND : EXIT.OK;
}

function openInput(source: string): Readable {
  if (source === '-') return process.stdin;
  try {
    if (!statSync(source).isFile()) throw new Error('not a file');
  } catch (cause) {
    throw new WardError('WARD_ERR_INPUT_NOT_FOUND', 'Cannot read the --file input', { path: source }, cause);
  }
  return createReadStream(source);
}
