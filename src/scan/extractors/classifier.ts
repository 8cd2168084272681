/**
 * @module scan/extractors/classifier
 * Opt-in image classifiers (scan config `classifiers: [nsfw]`; off by default): a review priority,
 * never a verdict. Each score is an `info` finding (`classifier.nsfw`, with the model, its
 * version and the class probabilities); the policy never turns it into a verdict or a reason and
 * only uses its score to order flagged items for review (scan/policy). The classifier code and
 * TensorFlow.js are imported on the first image of a scan that asks for them, so other scans never
 * load them. See docs/classifiers.md.
 */
import { decodeImageOnce } from '../../media/decode-once.js';
import { DECODABLE_IMAGE_FORMATS, type ImageFormat } from '../../media/sniff.js';
import type { Extractor } from '../plugins.js';
import type { Finding } from '../types.js';

/** The names `classifiers:` accepts: `nsfw` (its default model) or `nsfw:<model>`. */
export const CLASSIFIER_NAMES = ['nsfw', 'nsfw:MobileNetV2', 'nsfw:MobileNetV2Mid', 'nsfw:InceptionV3'] as const;
export type ClassifierName = (typeof CLASSIFIER_NAMES)[number];

export const classifierExtractor: Extractor = {
  name: 'classifier',
  contentTypes: ['image'],
  async extract({ bytes, format, limits, options }) {
    const wanted = options.classifiers ?? [];
    if (wanted.length === 0) return {};
    if (format !== undefined && !DECODABLE_IMAGE_FORMATS.has(format as ImageFormat)) return {};
    const { classifyNsfw, DEFAULT_NSFW_MODEL } = await import('../../classifiers/nsfw.js');
    const image = await decodeImageOnce(bytes, limits); // the pixels PDQ decoded
    const findings: Finding[] = [];
    for (const name of new Set(wanted)) {
      const model = (name.split(':')[1] ?? DEFAULT_NSFW_MODEL) as Parameters<typeof classifyNsfw>[1];
      const r = await classifyNsfw(image, model);
      findings.push({
        type: 'classifier.nsfw',
        severity: 'info',
        score: r.score,
        message: `${r.model} ${r.version}: review priority ${r.score} (a model's guess, not a verdict)`,
        source: 'classifier',
        data: { model: r.model, version: r.version, runtime: r.runtime, scores: r.scores },
      });
    }
    return { findings };
  },
};
