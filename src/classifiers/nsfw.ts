/**
 * @module classifiers/nsfw
 * The nsfwjs image classifier (MobileNetV2, MobileNetV2Mid or InceptionV3; the weights ship inside
 * the npm package) on TensorFlow.js with its WebAssembly backend: no native code, nothing
 * downloaded. Loaded on first use only, once per thread (the default scan never imports it).
 *
 * A score is a review priority, never a verdict: Ward reports it as an `info` finding and uses it
 * to order the review queue (docs/classifiers.md). It is never a report, never a reason to
 * suppress a hash match, and never says what an image is.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WardError } from '../errors.js';
import type { DecodedImage } from '../media/image.js';
import { loadSharp } from '../media/image.js';
import { loadTf, runtimeOf, type Tf } from './tf.js';

export const NSFW_MODELS = ['MobileNetV2', 'MobileNetV2Mid', 'InceptionV3'] as const;
export type NsfwModel = (typeof NSFW_MODELS)[number];
/** The model `nsfw` means: the fewest false positives on the benign test photos (docs/classifiers.md). */
export const DEFAULT_NSFW_MODEL: NsfwModel = 'MobileNetV2Mid';
/** nsfwjs's five classes; the three sexual ones make the priority score. */
export const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;

export interface ClassifierScores {
  /** `nsfwjs/<model>`. */
  model: string;
  /** The nsfwjs package version (its weights are versioned with it). */
  version: string;
  /** TensorFlow.js backend and its version, e.g. `wasm 4.22.0`. */
  runtime: string;
  /** Probability per class, rounded to 4 decimals; they sum to about 1. */
  scores: Record<(typeof NSFW_CLASSES)[number], number>;
  /** Porn + Hentai + Sexy, 0-1 (3 decimals): the review priority. */
  score: number;
}

interface NsfwModelInstance {
  classify(image: unknown, topk?: number): Promise<{ className: string; probability: number }[]>;
}
interface Engine {
  tf: Tf;
  nsfw: { load(name: string): Promise<NsfwModelInstance> };
  version: string;
}

/** The input size of every nsfwjs model except InceptionV3 (299). */
const INPUT_SIZE: Record<NsfwModel, number> = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };

let engine: Promise<Engine> | undefined;
const models = new Map<NsfwModel, Promise<NsfwModelInstance>>();

function loadEngine(): Promise<Engine> {
  engine ??= (async () => {
    const tf = await loadTf();
    try {
      const require = createRequire(import.meta.url);
      const nsfw = (await import('nsfwjs')) as unknown as Engine['nsfw'];
      const pkg = JSON.parse(
        readFileSync(join(dirname(require.resolve('nsfwjs')), '..', '..', 'package.json'), 'utf8'),
      );
      return { tf, nsfw, version: String(pkg.version) };
    } catch (cause) {
      engine = undefined;
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        'Cannot load the nsfw classifier (nsfwjs)',
        { dependency: 'nsfwjs' },
        cause,
      );
    }
  })();
  engine.catch(() => {
    engine = undefined;
  });
  return engine;
}

function loadModel(e: Engine, name: NsfwModel): Promise<NsfwModelInstance> {
  let m = models.get(name);
  if (!m) {
    m = (async () => {
      // nsfwjs prints a hint with console.info while loading a bundled model; in a worker thread
      // that would land in the report on stdout.
      const info = console.info;
      console.info = () => {};
      try {
        return await e.nsfw.load(name);
      } finally {
        console.info = info;
      }
    })();
    m.catch(() => models.delete(name));
    models.set(name, m);
  }
  return m;
}

/**
 * Scores decoded pixels (media/image's DecodedImage: grey, RGB, with or without alpha) with one
 * nsfwjs model. The image is resized to the model's input (bilinear, aspect not kept, as nsfwjs
 * itself does) by sharp first.
 */
export async function classifyNsfw(
  image: DecodedImage,
  model: NsfwModel = DEFAULT_NSFW_MODEL,
): Promise<ClassifierScores> {
  const e = await loadEngine();
  const net = await loadModel(e, model);
  const size = INPUT_SIZE[model];
  const sharp = await loadSharp();
  const channels = image.channels as 1 | 2 | 3 | 4;
  const rgb = await sharp(image.data, { raw: { width: image.width, height: image.height, channels } })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(size, size, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (rgb.info.channels !== 3) {
    throw new WardError('WARD_ERR_INTERNAL', `Classifier input has ${rgb.info.channels} channels, not 3`);
  }
  const input = e.tf.tensor3d(Int32Array.from(rgb.data), [size, size, 3], 'int32');
  let predictions: { className: string; probability: number }[];
  try {
    predictions = await net.classify(input, NSFW_CLASSES.length);
  } finally {
    input.dispose();
  }
  const scores = Object.fromEntries(NSFW_CLASSES.map((c) => [c, 0])) as ClassifierScores['scores'];
  for (const p of predictions) {
    if ((NSFW_CLASSES as readonly string[]).includes(p.className)) {
      scores[p.className as keyof typeof scores] = Math.round(p.probability * 10_000) / 10_000;
    }
  }
  const score = Math.min(1, Math.round((scores.Porn + scores.Hentai + scores.Sexy) * 1000) / 1000);
  return {
    model: `nsfwjs/${model}`,
    version: e.version,
    runtime: runtimeOf(e.tf),
    scores,
    score,
  };
}
