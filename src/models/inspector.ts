/**
 * @module models/inspector
 * The model inspector of `ward inspect` (registered by the built-in plugin): model files,
 * diffusers folders and PEFT adapters, with one table row each.
 */
import { basename } from 'node:path';
import type { Inspector } from '../inspect/types.js';
import { type InspectOptions, inspectModel, isModelFolder, type ModelReport } from './inspect.js';

export const modelInspector: Inspector = {
  name: 'model',
  contentTypes: ['model'],
  claimsFolder: isModelFolder,
  claimsFile: (path) => /(^|[./])adapter_config\.json$/.test(basename(path)),
  async inspect(path, ctx) {
    const options: InspectOptions = { hashes: ctx.hashes };
    return (await inspectModel(path, options)) as unknown as Record<string, unknown>;
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
    if (r.error) lines.push(`  error ${r.error.code}: ${r.error.message}`);
    for (const c of r.components ?? [])
      lines.push(
        `  component ${String(c.metadata.component ?? '')}: ${modelInspector.tableRow(c as unknown as Record<string, unknown>).trim()}`,
      );
    return lines.join('\n');
  },
};
