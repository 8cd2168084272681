/**
 * @module models/screen
 * The hook between model inspection and text screening. A model's training text (caption tags,
 * dataset folder names, output name, title, description) is handed to a screener, which returns
 * findings (e.g. tags or a title that combine minors with sexual content). Text screening lives
 * elsewhere (src/text): it registers itself with `setTrainingTextScreener`, in module code that
 * runs in every thread (the built-in plugin's `screeners`, src/builtin.ts), so scan workers see it too. Callers may also pass a
 * screener explicitly (`inspectModel(path, { screener })`), which wins over the registered one.
 */
import type { Finding } from '../item.js';
import { allTags, type TrainingInfo } from './training.js';

/** Where a text comes from: `tags` (a tag map or list), `title`, `caption` (dataset folder names), `post` (prose). */
export type TrainingTextContext = 'tags' | 'title' | 'caption' | 'post';

/** Tag → count, or (kohya's `ss_tag_frequency`) dataset folder → tag → count. */
export type TagCounts = Record<string, number | Record<string, number>>;

/**
 * The text screener's signature, that of `screenFindings(text, context, source)`: a string, or
 * for `tags` a tag map.
 */
export type TrainingTextScreener = (
  input: string | TagCounts,
  context: TrainingTextContext,
  source: string,
) => Finding[] | Promise<Finding[]>;

let registered: TrainingTextScreener | undefined | null = null;
let fromPlugins: TrainingTextScreener | undefined;

/** Registers the screener model inspection calls (undefined removes it); wins over the plugins'. */
export function setTrainingTextScreener(screener: TrainingTextScreener | undefined): void {
  registered = screener;
}

/** The active registry's screener (src/registry.ts), used unless one was set explicitly. @internal */
export function setPluginTrainingTextScreener(screener: TrainingTextScreener | undefined): void {
  fromPlugins = screener;
}

export function getTrainingTextScreener(): TrainingTextScreener | undefined {
  return registered === null ? fromPlugins : registered;
}

export interface ScreenableText {
  /** The metadata field it comes from. */
  field: string;
  context: TrainingTextContext;
  text: string | TagCounts;
}

/** The training texts worth screening, one per field, empty ones left out. */
export function trainingTexts(info: TrainingInfo, extra: readonly ScreenableText[] = []): ScreenableText[] {
  const out: ScreenableText[] = [];
  const add = (field: string, context: TrainingTextContext, text: string | undefined): void => {
    if (text && text.trim().length > 0) out.push({ field, context, text });
  };
  if (allTags(info).length > 0) out.push({ field: 'ss_tag_frequency', context: 'tags', text: info.tagFrequency });
  // Kohya folders are `<repeats>_<instance prompt> <class>` (newer kohya: full paths): the prompt is the caption.
  const folders = [...new Set([...Object.keys(info.tagFrequency), ...Object.keys(info.datasetDirs)])].map((f) =>
    (
      f
        .replace(/[\\/]+$/, '')
        .split(/[\\/]/)
        .pop() ?? f
    ).replace(/^\d+_/, ''),
  );
  add('ss_dataset_dirs', 'caption', folders.join('\n'));
  add('ss_output_name', 'title', info.outputName);
  add('modelspec.title', 'title', info.title);
  add('modelspec.tags', 'tags', info.tags?.join(', '));
  add('modelspec.description', 'post', info.description);
  add('ss_training_comment', 'post', info.comment);
  out.push(...extra);
  return out;
}

/** Runs the screener over the texts; each finding's data names the field it came from. */
export async function screenTexts(
  texts: readonly ScreenableText[],
  screener: TrainingTextScreener,
  source = 'model',
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const t of texts) {
    const found = await screener(t.text, t.context, source);
    for (const f of found) findings.push({ ...f, data: { ...f.data, field: t.field } });
  }
  return findings;
}
