/**
 * @module scan/extractors/provenance
 * Images: AI-generation provenance (src/provenance). Emits a `provenance.ai-generated` finding
 * (severity info: AI generation alone is not abuse; the policy can map it) when there is evidence,
 * the models the image names as `resourceHashes` signals (hashes, file names, hub ids: matched
 * against banks by the pipeline: a known-bad LoRA makes the image `flag`), and the text screener's findings on its prompts.
 */
import { decodeImageOnce } from '../../media/decode-once.js';
import { DECODABLE_IMAGE_FORMATS, type ImageFormat } from '../../media/sniff.js';
import { inspectWithPrompts, resourceSignals } from '../../provenance/inspect.js';
import { screenPrompts } from '../../provenance/prompt-screen.js';
import type { ProvenanceReport } from '../../provenance/types.js';
import type { Extractor } from '../plugins.js';
import type { Finding } from '../types.js';

export const PROVENANCE_SOURCE = 'provenance';

/** The finding for a report; undefined when there is no evidence of AI generation. */
export function provenanceFinding(report: ProvenanceReport): Finding | undefined {
  if (report.aiGenerated === 'no-evidence') return undefined;
  const kinds = [...new Set(report.evidence.map((e) => e.kind))].join(', ');
  return {
    type: 'provenance.ai-generated',
    severity: 'info',
    score: report.aiGenerated === 'yes' ? 0.9 : 0.6,
    message: `AI-generated (${report.aiGenerated}): ${kinds}${report.generator ? `; generator ${report.generator}` : ''}`,
    source: PROVENANCE_SOURCE,
    data: report as unknown as Record<string, unknown>,
  };
}

export const provenanceExtractor: Extractor = {
  name: PROVENANCE_SOURCE,
  contentTypes: ['image'],
  async extract({ bytes, format, limits, options }) {
    // Formats Ward can neither decode nor read metadata from (BMP) stay unsupported, as for PDQ.
    if (format !== undefined && !DECODABLE_IMAGE_FORMATS.has(format as ImageFormat))
      return { unsupported: `${format} images cannot be decoded` };
    const { report, prompt, negativePrompt } = await inspectWithPrompts(bytes, {
      limits,
      redact: options.redactPrompts === true,
      pixels: options.provenancePixels !== false,
      decode: decodeImageOnce,
    });
    const findings: Finding[] = [];
    const f = provenanceFinding(report);
    if (f) findings.push(f);
    else if (report.issues && report.issues.length > 0)
      findings.push({
        type: 'provenance.metadata-issue',
        severity: 'info',
        message: `Image metadata is malformed or over a limit (${report.issues.length} issue${report.issues.length > 1 ? 's' : ''})`,
        source: PROVENANCE_SOURCE,
        data: { issues: report.issues },
      });
    findings.push(...screenPrompts(prompt, negativePrompt, PROVENANCE_SOURCE));
    const hashes = resourceSignals(report);
    return hashes.length > 0 ? { findings, signals: { resourceHashes: hashes } } : { findings };
  },
};
