/**
 * @module provenance/a1111
 * A1111-style infotext, as AUTOMATIC1111, Forge, reForge, SD.Next, Fooocus (a1111 scheme), several
 * ComfyUI save nodes and Civitai write it: the prompt, `Negative prompt:`, and a last line of
 * `key: value` parameters (values may be quoted or JSON). Parameters name the checkpoint, VAE,
 * LoRAs and embeddings with the hashes the tool printed.
 */
import type { Resources } from './resources.js';
import { resourceType } from './resources.js';

export interface Infotext {
  prompt: string;
  negativePrompt?: string;
  /** Parameters in order of appearance (a repeated key keeps its last value). */
  params: Map<string, string>;
}

const KEY = /\s*(\w[\w \-/+.()]*?):\s*/y;
/** Parameters that make a line generation parameters rather than prose. */
const TELLTALE = ['Steps', 'Sampler', 'Seed', 'CFG scale', 'CFG Scale', 'Model hash', 'Size'];

/** Reads `key: value, key: "quoted, value", key: {"json": 1}` into pairs (linear, never throws). */
export function parseParams(line: string): [string, string][] {
  const out: [string, string][] = [];
  let at = 0;
  while (at < line.length) {
    KEY.lastIndex = at;
    const m = KEY.exec(line);
    if (!m) break;
    const key = (m[1] as string).trim();
    at = KEY.lastIndex;
    let value: string;
    const c = line[at];
    if (c === '"') {
      let i = at + 1;
      while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      value = line.slice(at + 1, Math.min(i, line.length)).replace(/\\(.)/g, '$1');
      at = Math.min(i + 1, line.length);
    } else if (c === '[' || c === '{') {
      const end = balanced(line, at);
      value = line.slice(at, end);
      at = end;
    } else {
      const comma = line.indexOf(',', at);
      const end = comma < 0 ? line.length : comma;
      value = line.slice(at, end).trim();
      at = end;
    }
    out.push([key, value]);
    while (at < line.length && (line[at] === ',' || line[at] === ' ')) at++;
  }
  return out;
}

/** End of a JSON-ish bracketed value starting at `from` (strings respected); the line's end if unbalanced. */
function balanced(s: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return s.length;
}

/** Parses infotext; undefined when the text has no parameters line (it is not generation data). */
export function parseInfotext(text: string): Infotext | undefined {
  const lines = text.replace(/\r\n?/g, '\n').trim().split('\n');
  let paramLine = -1;
  let pairs: [string, string][] = [];
  // A1111 takes the last line; some writers add a line after it, so look at the last few.
  for (let i = lines.length - 1; i >= Math.max(0, lines.length - 3); i--) {
    const p = parseParams(lines[i] as string);
    if (p.length >= 3 && p.some(([k]) => TELLTALE.includes(k))) {
      paramLine = i;
      pairs = p;
      break;
    }
  }
  if (paramLine < 0) return undefined;
  const prompt: string[] = [];
  const negative: string[] = [];
  let inNegative = false;
  for (const raw of lines.slice(0, paramLine)) {
    let line = raw;
    if (line.startsWith('Negative prompt:')) {
      inNegative = true;
      line = line.slice('Negative prompt:'.length);
    }
    (inNegative ? negative : prompt).push(line.trim());
  }
  const params = new Map<string, string>();
  for (const [k, v] of pairs) params.set(k, v);
  return {
    prompt: prompt.join('\n').trim(),
    ...(inNegative ? { negativePrompt: negative.join('\n').trim() } : {}),
    params,
  };
}

/** The tool that wrote the infotext, from `App`, `Version` and Civitai's fields. */
export function infotextGenerator(info: Infotext): string {
  const p = info.params;
  const version = p.get('Version');
  const app = p.get('App');
  if (app) return version ? `${app} ${version}` : app;
  if (p.has('Civitai resources') || p.has('Civitai metadata')) return 'Civitai';
  if (version) {
    if (/^comfyui$/i.test(version)) return 'ComfyUI';
    if (/^fooocus/i.test(version)) return version;
    if (/^v?\d+\.\d+/.test(version)) return `AUTOMATIC1111 ${version.startsWith('v') ? version : `v${version}`}`;
    if (/^classic$/i.test(version)) return 'Forge classic';
    if (/^neo$/i.test(version)) return 'Forge Neo';
    if (/^f\d+(\.\d+)*v\d+-v/.test(version)) return `reForge ${version}`;
    if (/^f\d/.test(version)) return `Forge ${version}`;
    return `A1111-compatible ${version}`;
  }
  const sampler = p.get('Sampler');
  if (sampler && /^[a-z0-9]+(_[a-z0-9]+)+$/.test(sampler)) return 'ComfyUI (A1111-style infotext)';
  return 'A1111-style infotext';
}

function jsonValue(v: string | undefined): unknown {
  if (!v) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

/** `"name: hash, name2: hash2"` (A1111's Lora hashes / TI hashes). */
function namedHashes(v: string): [string, string][] {
  return v
    .split(',')
    .map((part) => {
      const i = part.lastIndexOf(':');
      return [part.slice(0, i).trim(), part.slice(i + 1).trim()] as [string, string];
    })
    .filter(([n, h]) => n.length > 0 && h.length > 0);
}

/** The models the infotext names, with their printed hashes. */
export function infotextResources(info: Infotext, into: Resources, source: string): void {
  const p = info.params;
  const model = p.get('Model');
  const modelHash = p.get('Model hash');
  if (model || modelHash) {
    if (modelHash) into.addHash('checkpoint', model ?? modelHash, modelHash, source);
    else into.add('checkpoint', model as string, {}, { source });
  }
  const vae = p.get('VAE');
  const vaeHash = p.get('VAE hash');
  if (vae || vaeHash) {
    if (vaeHash) into.addHash('vae', vae ?? vaeHash, vaeHash, source);
    else into.add('vae', vae as string, {}, { source });
  }
  const refiner = p.get('Refiner');
  if (refiner) {
    const m = /^(.*?)\s*\[([0-9a-fA-F]+)\]$/.exec(refiner);
    if (m) into.addHash('checkpoint', m[1] as string, m[2] as string, source);
    else into.add('checkpoint', refiner, {}, { source });
  }
  for (const [n, h] of namedHashes(p.get('Lora hashes') ?? '')) into.addHash('lora', n, h, source);
  for (const [n, h] of namedHashes(p.get('TI hashes') ?? '')) into.addHash('embedding', n, h, source);
  const hashes = jsonValue(p.get('Hashes'));
  if (hashes && typeof hashes === 'object' && !Array.isArray(hashes)) {
    for (const [k, v] of Object.entries(hashes as Record<string, unknown>)) {
      if (typeof v !== 'string') continue;
      if (k === 'model') into.addHash('checkpoint', model ?? v, v, source);
      else if (k === 'vae') into.addHash('vae', vae ?? v, v, source);
      else {
        const i = k.indexOf(':');
        const type = i > 0 ? resourceType(k.slice(0, i)) : undefined;
        if (type) into.addHash(type, k.slice(i + 1), v, source);
      }
    }
  }
  const civitai = jsonValue(p.get('Civitai resources'));
  if (Array.isArray(civitai)) {
    for (const r of civitai.slice(0, 256)) {
      if (!r || typeof r !== 'object') continue;
      const o = r as Record<string, unknown>;
      const type = typeof o.type === 'string' ? resourceType(o.type) : undefined;
      if (!type) continue;
      const name =
        [o.modelName, o.modelVersionName].filter((x) => typeof x === 'string').join(' ') ||
        String(o.modelVersionId ?? '');
      const version = typeof o.modelVersionId === 'number' ? o.modelVersionId : undefined;
      const hash = typeof o.hash === 'string' ? o.hash : undefined;
      if (hash) into.addHash(type, name, hash, source);
      into.add(type, name, {}, { source, ...(version !== undefined ? { civitaiVersionId: version } : {}) });
    }
  }
  // <lora:name:weight> and <lyco:name:weight> in the prompt name LoRAs without hashes.
  for (const m of info.prompt.matchAll(/<(lora|lyco):([^:>]+)(?::[^>]*)?>/gi))
    into.add('lora', m[2] as string, {}, { source });
  for (const [, v] of p) if (v.includes('urn:air:')) into.addAirs(v, source);
}
