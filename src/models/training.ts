/**
 * @module models/training
 * What a model says about its training: kohya sd-scripts writes `ss_*` keys into a LoRA's
 * safetensors metadata (the caption tags and how often each occurs per dataset folder, the
 * folders with their image counts and repeats, the output name, the base model file...), and the
 * ModelSpec convention adds `modelspec.*` (title, description, tags, author). Several of these are
 * JSON written into a string value; they are parsed with the same depth and size guards as the
 * header.
 */
import { isPlainObject, parseJson, setOwn } from './json.js';

export interface DatasetDir {
  nRepeats?: number;
  imgCount?: number;
}

export interface TrainingInfo {
  /** Dataset folder → tag → count (`ss_tag_frequency`, or the tag_frequency of `ss_datasets`). */
  tagFrequency: Record<string, Record<string, number>>;
  /** Dataset folder → repeats and image count. */
  datasetDirs: Record<string, DatasetDir>;
  /** `ss_num_train_images`: training images counting repeats. */
  numImages?: number;
  /** Distinct images over the dataset folders (the sum of their image counts). */
  imageCount?: number;
  outputName?: string;
  /** `modelspec.title`. */
  title?: string;
  /** `modelspec.description`. */
  description?: string;
  /** `ss_training_comment`. */
  comment?: string;
  /** The base model file trained on (`ss_sd_model_name`). */
  baseModelName?: string;
  /** `modelspec.tags`, split on commas. */
  tags?: string[];
  /** Keys whose JSON did not parse (or was over a limit): named, not fatal. */
  unreadable?: string[];
}

export interface TrainingLimits {
  maxJsonDepth: number;
  maxConfigBytes: number;
}

function int(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function text(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t && t !== 'None' ? t : undefined;
}

/** Training facts from string metadata (safetensors `__metadata__`). */
export function trainingInfo(md: Readonly<Record<string, string>>, limits: TrainingLimits): TrainingInfo {
  const info: TrainingInfo = { tagFrequency: {}, datasetDirs: {} };
  const unreadable: string[] = [];
  const json = (key: string): unknown => {
    const raw = md[key];
    if (raw === undefined || raw === '' || raw === 'None') return undefined;
    if (raw.length > limits.maxConfigBytes) {
      unreadable.push(key);
      return undefined;
    }
    try {
      return parseJson(raw, key, limits.maxJsonDepth);
    } catch {
      unreadable.push(key);
      return undefined;
    }
  };
  const addTags = (folder: string, tags: unknown): void => {
    if (!isPlainObject(tags)) return;
    const target: Record<string, number> = {};
    for (const [tag, count] of Object.entries(tags)) {
      const n = int(count);
      if (n !== undefined) setOwn(target, tag, n);
    }
    // Own properties only: a folder or tag named __proto__ must not reach Object.prototype.
    const existing = Object.hasOwn(info.tagFrequency, folder) ? info.tagFrequency[folder] : undefined;
    if (existing) {
      for (const [t, n] of Object.entries(target))
        setOwn(existing, t, (Object.hasOwn(existing, t) ? (existing[t] as number) : 0) + n);
    } else setOwn(info.tagFrequency, folder, target);
  };
  const tf = json('ss_tag_frequency');
  if (isPlainObject(tf)) for (const [folder, tags] of Object.entries(tf)) addTags(folder, tags);
  const dirs = json('ss_dataset_dirs');
  if (isPlainObject(dirs)) {
    for (const [folder, d] of Object.entries(dirs)) {
      if (!isPlainObject(d)) continue;
      const entry: DatasetDir = {};
      const r = int(d.n_repeats);
      const c = int(d.img_count);
      if (r !== undefined) entry.nRepeats = r;
      if (c !== undefined) entry.imgCount = c;
      setOwn(info.datasetDirs, folder, entry);
    }
  }
  // Newer kohya (dataset config files): ss_datasets is a list of datasets with subsets.
  const datasets = json('ss_datasets');
  if (Array.isArray(datasets)) {
    for (const ds of datasets) {
      if (!isPlainObject(ds)) continue;
      if (isPlainObject(ds.tag_frequency))
        for (const [folder, tags] of Object.entries(ds.tag_frequency)) addTags(folder, tags);
      if (Array.isArray(ds.subsets)) {
        for (const s of ds.subsets) {
          if (!isPlainObject(s) || typeof s.image_dir !== 'string') continue;
          const entry: DatasetDir = {};
          const r = int(s.num_repeats);
          const c = int(s.img_count);
          if (r !== undefined) entry.nRepeats = r;
          if (c !== undefined) entry.imgCount = c;
          setOwn(info.datasetDirs, s.image_dir, entry);
        }
      }
    }
  }
  const numImages = int(md.ss_num_train_images);
  if (numImages !== undefined) info.numImages = numImages;
  const counts = Object.values(info.datasetDirs)
    .map((d) => d.imgCount)
    .filter((n): n is number => n !== undefined);
  if (counts.length > 0) info.imageCount = counts.reduce((a, b) => a + b, 0);
  const outputName = text(md.ss_output_name);
  if (outputName) info.outputName = outputName;
  const title = text(md['modelspec.title']);
  if (title) info.title = title;
  const description = text(md['modelspec.description']);
  if (description) info.description = description;
  const comment = text(md.ss_training_comment);
  if (comment) info.comment = comment;
  const base = text(md.ss_sd_model_name);
  if (base) info.baseModelName = base;
  const tags = text(md['modelspec.tags']);
  if (tags)
    info.tags = tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
  if (unreadable.length > 0) info.unreadable = unreadable;
  return info;
}

/** Tags over all folders, most frequent first (for screening and summaries). */
export function allTags(info: TrainingInfo): { tag: string; count: number }[] {
  const total = new Map<string, number>();
  for (const tags of Object.values(info.tagFrequency)) {
    for (const [tag, n] of Object.entries(tags)) total.set(tag, (total.get(tag) ?? 0) + n);
  }
  return [...total]
    .map(([tag, count]) => ({ tag, count }))
    .sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : 1));
}
