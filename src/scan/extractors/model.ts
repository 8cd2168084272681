/**
 * @module scan/extractors/model
 * Models (safetensors, PyTorch checkpoints and pickles, GGUF, NumPy): the identity hashes as
 * signals (autov1, autov2, autov3, sha256, blake3, crc32; matched against banks), what the model
 * is (`model.info`), what its pickles would run on load (`model.pickle-dangerous`,
 * `model.pickle-suspicious`), and what the registered text screener finds in its training text.
 *
 * Files are streamed (`extractFile`): model files are often larger than `limits.maxFileBytes`,
 * and one read gives the identity hashes and the pipeline's MD5/SHA-1/SHA-256 together.
 *
 * The sniffer sees only the first 4 KiB, and is registered before the archive sniffer (PyTorch
 * checkpoints are zips): safetensors by a sane header length followed by `{"`; GGUF and `.npy` by
 * magic; pickles by PROTO 2-5 (`\x80\x02`..`\x80\x05`), or, for protocols 0/1, by a GLOBAL at the
 * start or a trial walk of the 4 KiB; zips whose first local headers (within the 4 KiB) name a
 * `.pkl` (`archive/data.pkl`, `<name>/data.pkl`), hold a stored pickle first, or only `.npy`
 * entries. A checkpoint zip whose data.pkl comes after 4 KiB of other entries is seen as a zip
 * archive: its entries are still scanned one by one, and data.pkl among them is sniffed as a pickle.
 */

import { delimiter } from 'node:path';
import {
  type InspectOptions,
  inspectModel,
  inspectModelBytes,
  type ModelReport,
  sniffModel,
} from '../../models/inspect.js';
import { loadTensorBases } from '../../models/inspector.js';
import type { TensorBase } from '../../models/tensorfp.js';
import { mergeReferenceSignals, referencesOf } from '../../references/index.js';
import type { ExtractOutput, Extractor, Sniffer } from '../plugins.js';
import type { Finding, ItemSignals } from '../types.js';

export const modelSniffer: Sniffer = {
  contentType: 'model',
  sniff: (head) => sniffModel(head),
};

/** Metadata values longer than this are left out of `model.info` (chat templates, bucket lists...). */
const MAX_INFO_VALUE = 1024;
/** Training text and its maps: summarised under `training`, screened, never copied into the report. */
const TRAINING_TEXT_KEYS = new Set(['ss_tag_frequency', 'ss_dataset_dirs', 'ss_datasets', 'ss_bucket_info']);
const MAX_LISTED = 50;

function trimmedMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    const size = typeof v === 'string' ? v.length : (JSON.stringify(v)?.length ?? 0);
    if (size <= MAX_INFO_VALUE && !TRAINING_TEXT_KEYS.has(k))
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Metadata keys whose text describes the model (where its card names links, models, hashes). */
const DESCRIBING_KEY = /description|title|comment|notes|readme|url|source|trigger|usage/i;

/** The describing metadata values, one per line (at most 4 MiB). */
function describingText(metadata: Record<string, unknown>): string {
  const parts: string[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string' || !DESCRIBING_KEY.test(k) || size + v.length > 4 * 1024 * 1024) continue;
    parts.push(v);
    size += v.length + 1;
  }
  return parts.join('\n');
}

/** The report as scan output: signals and findings. */
export function modelOutput(report: ModelReport): ExtractOutput {
  const signals: ItemSignals = {};
  for (const [k, v] of Object.entries(report.hashes)) if (typeof v === 'string') signals[k] = v;
  if (report.tensorfp?.value) signals.tensorfp = report.tensorfp.value;
  const t = report.training;
  const tagCount = Object.values(t.tagFrequency).reduce((n, tags) => n + Object.keys(tags).length, 0);
  const findings: Finding[] = [
    {
      type: 'model.info',
      severity: 'info',
      message: `${report.format} ${report.kind}${report.variant ? ` (${report.variant})` : ''}${report.baseModel ? ` for ${report.baseModel}` : ''}`,
      source: 'model',
      data: {
        format: report.format,
        kind: report.kind,
        ...(report.variant ? { variant: report.variant } : {}),
        baseModel: report.baseModel,
        hashes: report.hashes,
        ...(report.tensors !== undefined ? { tensors: report.tensors } : {}),
        metadata: trimmedMetadata(report.metadata),
        training: {
          datasetDirs: t.datasetDirs,
          ...(t.numImages !== undefined ? { numImages: t.numImages } : {}),
          ...(t.imageCount !== undefined ? { imageCount: t.imageCount } : {}),
          ...(t.outputName ? { outputName: t.outputName } : {}),
          ...(t.baseModelName ? { baseModelName: t.baseModelName } : {}),
          tagCount,
        },
        ...(report.pickle
          ? {
              pickle: {
                verdict: report.pickle.verdict,
                globals: report.pickle.globals.slice(0, MAX_LISTED),
                pickles: report.pickle.pickles,
              },
            }
          : {}),
        ...(report.issues ? { issues: report.issues.slice(0, MAX_LISTED) } : {}),
        ...(report.tensorfp
          ? {
              tensorfp: {
                kind: report.tensorfp.kind,
                layers: report.tensorfp.layers,
                ...(report.tensorfp.base ? { base: report.tensorfp.base } : {}),
                ...(report.tensorfp.skipped ? { skipped: report.tensorfp.skipped } : {}),
              },
            }
          : {}),
      },
    },
  ];
  const p = report.pickle;
  if (p?.verdict === 'dangerous') {
    findings.push({
      type: 'model.pickle-dangerous',
      severity: 'critical',
      score: 1,
      message: `Loading this file would run code: its pickle imports ${p.dangerous.slice(0, 5).join(', ')}`,
      source: 'model',
      data: { dangerous: p.dangerous.slice(0, MAX_LISTED), globals: p.globals.slice(0, MAX_LISTED) },
    });
  } else if (p?.verdict === 'suspicious') {
    findings.push({
      type: 'model.pickle-suspicious',
      severity: 'medium',
      score: 0.5,
      message: `Its pickle imports code outside the allow list: ${p.suspicious.slice(0, 5).join(', ')}`,
      source: 'model',
      data: { suspicious: p.suspicious.slice(0, MAX_LISTED), globals: p.globals.slice(0, MAX_LISTED) },
    });
  }
  if (report.findings) findings.push(...report.findings);
  // Links, models and hashes named in its description, title, notes (src/references).
  const text = describingText(report.metadata);
  if (text) {
    const refs = referencesOf(text, 'model');
    findings.push(...refs.findings);
    mergeReferenceSignals(signals, refs.signals);
  }
  return { signals, findings, ...(report.error ? { error: report.error } : {}) };
}

/**
 * Base models' fingerprint data for `ward scan` (a checkpoint's delta from its base is matched
 * against LoRA entries): `.tfb` files listed in `WARD_TENSORFP_BASE` (separated like PATH),
 * read once per thread. A file that cannot be read stops the scan's model items with its error.
 */
export function scanTensorBases(env: NodeJS.ProcessEnv = process.env): TensorBase[] {
  return loadTensorBases((env.WARD_TENSORFP_BASE ?? '').split(delimiter).filter((p) => p !== ''));
}

export const modelExtractor: Extractor = {
  name: 'model',
  contentTypes: ['model'],
  async extract({ bytes, name }) {
    return modelOutput(await inspectModelBytes(bytes, name, { tensorBases: scanTensorBases() }));
  },
  async extractFile({ path, digests }) {
    const extra = digests.filter((d) => d !== 'sha256') as ('md5' | 'sha1')[];
    const report = await inspectModel(path, {
      extraDigests: extra,
      tensorBases: scanTensorBases(),
    } satisfies InspectOptions);
    // The extra digests are the item's MD5/SHA-1 (signals), not model identity hashes: the
    // finding lists the same hashes as for the same bytes in memory (scanBytes, archive entries).
    const hashes = { ...report.hashes } as Record<string, unknown>;
    for (const d of extra) delete hashes[d];
    const out = modelOutput({ ...report, hashes: hashes as typeof report.hashes });
    for (const d of extra) {
      const v = (report.hashes as Record<string, unknown>)[d];
      if (typeof v === 'string') (out.signals ??= {})[d] = v;
    }
    return out;
  },
};
