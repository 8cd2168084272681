/**
 * @module scan/extractors/classifier
 * Opt-in image classifiers (scan config `classifiers: [nsfw]`, `[nsfw, age]`; off by default): a
 * review priority, never a verdict. Each result is an `info` finding (`classifier.nsfw` with the
 * model, its version and the class probabilities; `classifier.age`, a weak hint with no score);
 * the policy never turns one into a verdict or a reason and only uses the nsfw score to order
 * flagged items for review (scan/policy). The classifier code and
 * TensorFlow.js are imported on the first image of a scan that asks for them, so other scans never
 * load them. See docs/classifiers.md.
 */
import { decodeImageOnce } from '../../media/decode-once.js';
import type { DecodedImage } from '../../media/image.js';
import { DECODABLE_IMAGE_FORMATS, type ImageFormat } from '../../media/sniff.js';
import type { Extractor } from '../plugins.js';
import type { Finding } from '../types.js';

/** The names `classifiers:` accepts: `nsfw` (its default model), `nsfw:<model>`, and `age`. */
export const CLASSIFIER_NAMES = ['nsfw', 'nsfw:MobileNetV2', 'nsfw:MobileNetV2Mid', 'nsfw:InceptionV3', 'age'] as const;
export type ClassifierName = (typeof CLASSIFIER_NAMES)[number];

export const classifierExtractor: Extractor = {
  name: 'classifier',
  contentTypes: ['image'],
  async extract({ bytes, format, limits, options }) {
    const wanted = options.classifiers ?? [];
    if (wanted.length === 0) return {};
    if (format !== undefined && !DECODABLE_IMAGE_FORMATS.has(format as ImageFormat)) return {};
    const image = await decodeImageOnce(bytes, limits); // the pixels PDQ decoded
    const findings: Finding[] = [];
    for (const name of new Set(wanted)) {
      if (name === 'age') {
        findings.push(await ageFinding(image));
        continue;
      }
      const { classifyNsfw, DEFAULT_NSFW_MODEL } = await import('../../classifiers/nsfw.js');
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

/** The age estimate: a weak hint with no score (it never orders the queue), faces and estimates in `data`. */
async function ageFinding(image: DecodedImage): Promise<Finding> {
  const { estimateAges } = await import('../../classifiers/age.js');
  const r = await estimateAges(image);
  const youngest = r.faces.length > 0 ? Math.min(...r.faces.map((f) => f.age)) : undefined;
  const message =
    youngest === undefined
      ? `${r.model} ${r.version}: no face found`
      : `${r.model} ${r.version}: ${r.faces.length} face(s), youngest estimate ${youngest} (a weak hint: about ±5 years, often wrong; not an age)`;
  return {
    type: 'classifier.age',
    severity: 'info',
    message,
    source: 'classifier',
    data: {
      model: r.model,
      version: r.version,
      runtime: r.runtime,
      faces: r.faces,
      ...(youngest !== undefined ? { youngest } : {}),
    },
  };
}
