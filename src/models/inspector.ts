/**
 * @module models/inspector
 * The model inspector of `ward inspect` (registered by the built-in plugin): model files,
 * diffusers folders and PEFT adapters, with one table row each.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { WardError } from '../errors.js';
import type { Inspector } from '../inspect/types.js';
import { type InspectOptions, inspectModel, isModelFolder, type ModelReport } from './inspect.js';
import { decodeBase, encodeBase, type FingerprintResult, type TensorBase } from './tensorfp.js';

const loadedBases = new Map<string, TensorBase>();

/** Reads base-model fingerprint files (.tfb), once each. */
export function loadTensorBases(paths: readonly string[]): TensorBase[] {
  return paths.map((p) => {
    let b = loadedBases.get(p);
    if (!b) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(p);
      } catch (cause) {
        const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
        throw new WardError(
          'WARD_ERR_INPUT_NOT_FOUND',
          `Cannot read base fingerprint file: ${errno}`,
          { path: p },
          cause,
        );
      }
      b = decodeBase(bytes, basename(p));
      loadedBases.set(p, b);
    }
    return b;
  });
}

export const modelInspector: Inspector = {
  name: 'model',
  contentTypes: ['model'],
  claimsFolder: isModelFolder,
  claimsFile: (path) => /(^|[./])adapter_config\.json$/.test(basename(path)),
  async inspect(path, ctx) {
    let fingerprint: FingerprintResult | undefined;
    const options: InspectOptions = {
      hashes: ctx.hashes,
      ...(ctx.tensorBases?.length ? { tensorBases: loadTensorBases(ctx.tensorBases) } : {}),
      ...(ctx.writeTensorBase
        ? {
            onTensorFingerprint: (r: FingerprintResult) => {
              fingerprint = r;
            },
          }
        : {}),
    };
    const report = await inspectModel(path, options);
    if (ctx.writeTensorBase) {
      if (fingerprint?.kind !== 'weights' || fingerprint.layers.weights === 0) {
        throw new WardError('WARD_ERR_MODEL_UNSUPPORTED', 'A base fingerprint file is written from a full checkpoint', {
          path,
        });
      }
      try {
        writeFileSync(ctx.writeTensorBase, encodeBase(fingerprint.projections));
      } catch (cause) {
        throw new WardError(
          'WARD_ERR_OUTPUT',
          'Cannot write the base fingerprint file',
          { path: ctx.writeTensorBase },
          cause,
        );
      }
      (report as ModelReport & { tensorBaseWritten?: string }).tensorBaseWritten = ctx.writeTensorBase;
    }
    return report as unknown as Record<string, unknown>;
  },
  tableRow(record) {
    const r = record as unknown as ModelReport;
    const kind = r.variant ? `${r.kind}/${r.variant}` : r.kind;
    const pickle = r.pickle ? r.pickle.verdict : '-';
    const tags = Object.values(r.training.tagFrequency).reduce((n, t) => n + Object.keys(t).length, 0);
    const lines = [
      `${r.format.padEnd(12)} ${kind.padEnd(16)} ${(r.baseModel ?? '-').padEnd(6)} ${(r.hashes.autov2 ?? '-').padEnd(10)}  ${(r.hashes.autov3?.slice(0, 12) ?? '-').padEnd(12)}  ${pickle.padEnd(10)} ${String(tags).padStart(5)}  ${r.path}`,
    ];
    if (r.pickle && r.pickle.verdict !== 'safe') {
      lines.push(`  ${r.pickle.verdict}: ${[...r.pickle.dangerous, ...r.pickle.suspicious].slice(0, 8).join(', ')}`);
    }
    if (r.tensorfp) {
      const t = r.tensorfp;
      lines.push(
        `  tensorfp: ${t.kind}, ${t.layers.delta} delta / ${t.layers.weights} weight layers${t.base ? ` (base ${t.base})` : ''}${t.skipped ? `; skipped ${t.skipped.join('; ')}` : ''}`,
      );
    }
    if (r.error) lines.push(`  error ${r.error.code}: ${r.error.message}`);
    for (const c of r.components ?? [])
      lines.push(
        `  component ${String(c.metadata.component ?? '')}: ${modelInspector.tableRow(c as unknown as Record<string, unknown>).trim()}`,
      );
    return lines.join('\n');
  },
};
