/**
 * @module provenance/generic
 * The generic pass: models, hashes and generation parameters in a metadata block from a tool Ward
 * has no reader for. It walks any JSON value (any nesting, any key case or spelling: keys are
 * compared lower-cased without separators, so `Model hash`, `model_hash`, `MODELHASH` and
 * `modelHash` are one key) and key-value text (`key: value` / `key=value` lines, A1111-style
 * `key: value, key: value` lines), and recognises:
 *
 * - resources by key vocabulary (`model`, `ckpt`, `sd_model_name`, `checkpoint`, `unet`, `refiner`,
 *   `vae`, `lora`/`loras`, `lycoris`, `embedding(s)`, `textual_inversion`, `resources`, `hashes`,
 *   `Lora hashes`…), by a `type` field (`lora`, `checkpoint`…) and by value shape (a string naming
 *   a model file: `….safetensors`, `….ckpt`, `….gguf`…, typed by its folder: `loras/…`);
 * - hashes by key vocabulary (`hash`, `sha256`, `autov2`, `blake3`, `Model hash`, `sd_model_hash`,
 *   `<type>_hash`) and by value shape (8/10/12/64 hex, `0x…`, `sha256:…`, `blake3:…` prefixes),
 *   sorted into the model-hash signal types as `classifyHash` does; `<lora:name:w>` tags and AIR
 *   URNs in any string;
 * - the prompt and negative prompt, and generation settings (`steps`, `sampler`, `seed`, `cfg`,
 *   `scheduler`, `guidance`, `denoise`…): a block with a prompt or a model and at least two
 *   settings is generation parameters (conclusive evidence, as for the known tools).
 *
 * Bounded: at most MAX_NODES values walked per block, nesting followed to MAX_DEPTH (deeper values
 * are not read), JSON inside strings parsed at most two levels deep and only below MAX_INNER_JSON
 * characters; iterative, so hostile nesting cannot overflow the stack. Never throws.
 */
import { parseParams } from './a1111.js';
import { classifyHash } from './hashes.js';
import { type Resources, resourceType } from './resources.js';
import type { ResourceHashes, ResourceType } from './types.js';

export const MAX_NODES = 20_000;
export const MAX_DEPTH = 64;
const MAX_INNER_JSON = 1 << 20;
const MAX_KV_LINES = 4096;

/** A key compared without case or separators: `Model hash` → `modelhash`. */
export function normKey(key: string): string {
  let out = '';
  const n = Math.min(key.length, 64);
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(c + 32);
    else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) out += key[i];
  }
  return out;
}

/** Keys naming a resource of a type (the value is its name, an object describing it, or a list). */
const TYPE_KEYS: Record<string, ResourceType> = {};
for (const k of [
  'model',
  'models',
  'modelname',
  'sdmodel',
  'sdmodelname',
  'sdmodelcheckpoint',
  'sdcheckpoint',
  'basemodel',
  'basemodelname',
  'checkpoint',
  'checkpoints',
  'checkpointname',
  'ckpt',
  'ckptname',
  'unet',
  'unetname',
  'diffusionmodel',
  'refiner',
  'refinermodel',
  'refinercheckpoint',
  'refinermodelname',
])
  TYPE_KEYS[k] = 'checkpoint';
for (const k of [
  'lora',
  'loras',
  'loraname',
  'loramodels',
  'lycoris',
  'lycoriss',
  'lyco',
  'locon',
  'loha',
  'lokr',
  'dora',
  'networks',
  'addnet',
  'additionalnetworks',
])
  TYPE_KEYS[k] = 'lora';
for (const k of [
  'embedding',
  'embeddings',
  'embed',
  'embeds',
  'embeddingname',
  'textualinversion',
  'textualinversions',
  'ti',
  'tis',
])
  TYPE_KEYS[k] = 'embedding';
for (const k of ['vae', 'vaename', 'sdvae', 'vaemodel']) TYPE_KEYS[k] = 'vae';

/** `<type>hash` keys: the hash of the sibling resource of that type. */
const TYPED_HASH_KEYS: Record<string, ResourceType> = {
  modelhash: 'checkpoint',
  sdmodelhash: 'checkpoint',
  ckpthash: 'checkpoint',
  checkpointhash: 'checkpoint',
  basemodelhash: 'checkpoint',
  unethash: 'checkpoint',
  refinerhash: 'checkpoint',
  refinermodelhash: 'checkpoint',
  vaehash: 'vae',
  sdvaehash: 'vae',
  lorahash: 'lora',
  embeddinghash: 'embedding',
};

/** Maps of `name: hash` (A1111's `Lora hashes`, `TI hashes`, `Hashes`). */
const HASH_MAP_KEYS: Record<string, ResourceType | undefined> = {
  hashes: undefined,
  modelhashes: undefined,
  resourcehashes: undefined,
  lorahashes: 'lora',
  tihashes: 'embedding',
  embeddinghashes: 'embedding',
  vaehashes: 'vae',
};

/** Lists of resources of any type. */
const LIST_KEYS = new Set([
  'resources',
  'civitairesources',
  'usedresources',
  'assets',
  'modelsused',
  'additionalresources',
]);

/** Inside a resource object: its name, its type, its hash, its ids. */
const NAME_KEYS = new Set([
  'name',
  'filename',
  'file',
  'modelname',
  'modelfilename',
  'title',
  'path',
  'filepath',
  'label',
  'modelversionname',
]);
const KIND_KEYS = new Set(['type', 'modeltype', 'kind', 'resourcetype', 'category', 'param']);
const HASH_KEYS = new Set([
  'hash',
  'sha256',
  'sha',
  'autov1',
  'autov2',
  'autov3',
  'blake3',
  'shorthash',
  'fullhash',
  'modelhash',
  'filehash',
  'hashsha256',
  'sha256hash',
]);
const VERSION_ID_KEYS = new Set(['modelversionid', 'versionid', 'civitaiversionid']);
const AIR_KEYS = new Set(['air', 'urn']);

const PROMPT_KEYS = new Set(['prompt', 'positive', 'positiveprompt', 'prompttext', 'textprompt', 'posprompt']);
const NEGATIVE_KEYS = new Set(['negativeprompt', 'negative', 'negprompt', 'uc', 'negativeprompttext']);
/** Generation settings: two of them beside a prompt or a model make generation parameters. */
const SETTING_KEYS = new Set([
  'steps',
  'numsteps',
  'sampler',
  'samplername',
  'scheduler',
  'seed',
  'noiseseed',
  'cfg',
  'cfgscale',
  'guidance',
  'guidancescale',
  'denoise',
  'denoisingstrength',
  'clipskip',
  'hiresupscaler',
  'sampling',
  'samplingsteps',
  'samplingmethod',
]);

const MODEL_FILE = /\.(safetensors|ckpt|gguf|sft|pt|pth)$/i;
const HEXISH = /^(?:(?:blake3|sha256|autov[123])[:=])?(?:0x)?\[?[0-9a-f]{8,64}\]?$/i;

export interface GenericResult {
  prompt?: string;
  negativePrompt?: string;
  /** Resources added to the collector. */
  resources: number;
  /** Generation settings keys seen (distinct). */
  settings: number;
  /** True when the block holds generation parameters (a prompt or a model, and two settings). */
  generation: boolean;
}

interface Frame {
  value: unknown;
  /** The resource type the parent key implies. */
  type: ResourceType | undefined;
  depth: number;
  /** From a hash map key (`Lora hashes`): the object's entries are name: hash. */
  hashMap?: ResourceType | 'any';
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function hashesOf(value: unknown, type: ResourceType, keyHint?: string): ResourceHashes {
  if (typeof value === 'string') {
    const v = value.trim();
    if (v.length > 80 || !HEXISH.test(v)) return {};
    if (/^[a-z0-9]+[:=]/i.test(v)) return classifyHash(v, type); // the value names its algorithm
    const h = v
      .toLowerCase()
      .replace(/^0x/, '')
      .replace(/^\[|\]$/g, '');
    // The key names the algorithm when the value does not.
    switch (keyHint) {
      case 'blake3':
        return h.length === 64 ? { blake3: h } : {};
      case 'autov1':
        return h.length === 8 ? { autov1: h } : {};
      case 'autov2':
        return h.length === 10 ? { autov2: h } : {};
      case 'autov3':
        return h.length === 12 || h.length === 64 ? { autov3: h } : {};
      case 'sha256':
      case 'hashsha256':
      case 'sha256hash':
        return h.length === 64 ? { sha256: h } : h.length === 10 || h.length === 12 ? { autov2: h.slice(0, 10) } : {};
      default:
        return classifyHash(h, type);
    }
  }
  if (isObj(value)) {
    let out: ResourceHashes = {};
    let n = 0;
    for (const [k, v] of Object.entries(value)) {
      if (++n > 16) break;
      const nk = normKey(k);
      if (HASH_KEYS.has(nk)) out = { ...out, ...hashesOf(v, type, nk) };
    }
    return out;
  }
  return {};
}

function typeFromName(name: string): ResourceType | undefined {
  const p = name.replace(/\\/g, '/').toLowerCase();
  const dir = p.lastIndexOf('/');
  if (dir < 0) return undefined;
  const folders = p.slice(0, dir);
  if (/(^|\/)(loras?|lycoris|locon)(\/|$)/.test(folders)) return 'lora';
  if (/(^|\/)(embeddings?|textual_inversion)(\/|$)/.test(folders)) return 'embedding';
  if (/(^|\/)vae(\/|$)/.test(folders)) return 'vae';
  if (/(^|\/)(checkpoints?|stable-diffusion|unet|diffusion_models)(\/|$)/.test(folders)) return 'checkpoint';
  return undefined;
}

/** `<lora:name:weight>`, `<lyco:name:weight>` tags in a string (linear scan). */
export function loraTags(text: string, max = 256): string[] {
  const out: string[] = [];
  let at = 0;
  while (out.length < max) {
    const i = text.indexOf('<', at);
    if (i < 0) break;
    at = i + 1;
    const head = text.slice(i + 1, i + 6).toLowerCase();
    const skip = head.startsWith('lora:') ? 6 : head === 'lyco:' ? 6 : 0;
    if (skip === 0) continue;
    const end = text.indexOf('>', i + skip);
    if (end < 0 || end - i > 512) continue;
    const inner = text.slice(i + skip, end);
    const colon = inner.indexOf(':');
    const name = (colon < 0 ? inner : inner.slice(0, colon)).trim();
    if (name) out.push(name);
    at = end + 1;
  }
  return out;
}

class Walk {
  readonly result: GenericResult = { resources: 0, settings: 0, generation: false };
  private nodes = 0;
  private readonly settings = new Set<string>();
  private readonly before: number;

  constructor(
    private readonly into: Resources,
    private readonly source: string,
  ) {
    this.before = into.size;
  }

  private add(
    type: ResourceType,
    name: string,
    hashes: ResourceHashes,
    extra: { air?: string; civitaiVersionId?: number } = {},
  ): void {
    this.into.add(type, name, hashes, { source: this.source, ...extra });
  }

  private strings(s: string): void {
    if (s.length > MAX_INNER_JSON) return;
    if (s.includes('urn:air:')) this.into.addAirs(s, this.source);
    if (s.includes('<')) for (const n of loraTags(s)) this.add('lora', n, {});
  }

  run(root: unknown): GenericResult {
    const stack: Frame[] = [{ value: root, type: undefined, depth: 0 }];
    while (stack.length > 0) {
      const f = stack.pop() as Frame;
      if (++this.nodes > MAX_NODES) break;
      if (f.depth > MAX_DEPTH) continue;
      const v = f.value;
      if (typeof v === 'string') {
        const inner = innerJson(v, f.depth);
        if (inner !== undefined) stack.push({ value: inner, type: f.type, depth: f.depth + 8 });
        else if (f.type && looksLikeName(v)) this.add(f.type, v, {});
        else if (MODEL_FILE.test(v.trim()) && v.length < 1000) {
          const t = typeFromName(v) ?? f.type;
          if (t) this.add(t, v, {});
        } else this.strings(v);
        continue;
      }
      if (Array.isArray(v)) {
        const tuple = f.type ? tupleResource(v) : undefined;
        if (tuple && f.type) {
          this.add(f.type, tuple.name, hashesOf(tuple.hash, f.type));
          continue;
        }
        const n = Math.min(v.length, MAX_NODES);
        for (let i = n - 1; i >= 0; i--) stack.push({ value: v[i], type: f.type, depth: f.depth + 1 });
        continue;
      }
      if (isObj(v)) this.object(v, f, stack);
    }
    this.result.resources = this.into.size - this.before;
    this.result.settings = this.settings.size;
    this.result.generation =
      this.settings.size >= 2 &&
      (this.result.resources > 0 || this.result.prompt !== undefined || this.result.negativePrompt !== undefined);
    return this.result;
  }

  private object(o: Json, f: Frame, stack: Frame[]): void {
    const entries = Object.entries(o);
    if (entries.length > MAX_NODES) entries.length = MAX_NODES;
    this.nodes += entries.length;
    if (f.hashMap) {
      for (const [k, v] of entries) {
        if (typeof v !== 'string') continue;
        const { type, name } = hashMapKey(k, f.hashMap === 'any' ? undefined : f.hashMap);
        if (!type) continue;
        const hs = hashesOf(v, type);
        const label = name ?? Object.values(hs)[0];
        if (label) this.add(type, label, hs);
      }
      return;
    }
    // This object as one resource: its name, type, hashes and ids.
    let name: string | undefined;
    let kind: ResourceType | undefined;
    let hashes: ResourceHashes = {};
    const hashValues: [unknown, string][] = [];
    let versionId: number | undefined;
    let air: string | undefined;
    // Sibling typed names and hashes: {"Model": "x", "Model hash": "…", "VAE": "y", "VAE hash": "…"}.
    const named = new Map<ResourceType, string>();
    const typedHashes = new Map<ResourceType, unknown[]>();
    for (const [k, v] of entries) {
      const nk = normKey(k);
      if (typeof v === 'string') {
        if (NAME_KEYS.has(nk) && !name && looksLikeName(v)) name = v;
        else if (KIND_KEYS.has(nk)) kind ??= resourceType(v);
        else if (AIR_KEYS.has(nk) && v.includes('urn:air:')) air = v;
        else if (HASH_KEYS.has(nk) && !TYPED_HASH_KEYS[nk]) hashValues.push([v, nk]);
        else if (VERSION_ID_KEYS.has(nk) && /^\d{1,12}$/.test(v)) versionId = Number(v);
      } else if (typeof v === 'number' && VERSION_ID_KEYS.has(nk) && Number.isSafeInteger(v)) versionId = v;
      else if (isObj(v) && (nk === 'hashes' || nk === 'hash') && algorithmMap(v)) {
        // {"name": "x", "hashes": {"SHA256": "…", "AutoV2": "…"}} is this object's hashes.
        hashValues.push([v, nk]);
        continue;
      }
      if (PROMPT_KEYS.has(nk) && typeof v === 'string' && this.result.prompt === undefined) this.result.prompt = v;
      else if (NEGATIVE_KEYS.has(nk) && typeof v === 'string' && this.result.negativePrompt === undefined)
        this.result.negativePrompt = v;
      if (SETTING_KEYS.has(nk) && (typeof v === 'number' || typeof v === 'string')) this.settings.add(nk);
      const typed = TYPE_KEYS[nk];
      if (typed && typeof v === 'string' && looksLikeName(v) && !HEXISH.test(v.trim())) {
        if (!named.has(typed)) named.set(typed, v);
      }
      const th = TYPED_HASH_KEYS[nk];
      if (th) typedHashes.set(th, [...(typedHashes.get(th) ?? []), v]);
    }
    if (name === undefined && kind === undefined && f.type && named.has(f.type) && !isResourceList(o))
      name = named.get(f.type); // {"model": {"model": "x", "hash": …}}
    const type = kind ?? f.type ?? (name && MODEL_FILE.test(name) ? (typeFromName(name) ?? 'checkpoint') : undefined);
    for (const [hv, hk] of hashValues) if (type) hashes = { ...hashes, ...hashesOf(hv, type, hk) };
    const isResource =
      type !== undefined && (name !== undefined || Object.keys(hashes).length > 0 || air !== undefined);
    if (isResource && type) {
      const label = name ?? air ?? Object.values(hashes)[0] ?? '';
      this.add(type, label, hashes, {
        ...(air ? { air } : {}),
        ...(versionId !== undefined ? { civitaiVersionId: versionId } : {}),
      });
      if (air) this.into.addAirs(air, this.source);
    }
    for (const [t, n] of named) {
      if (isResource && t === type && n === name) continue;
      const hs: ResourceHashes = {};
      for (const h of typedHashes.get(t) ?? []) Object.assign(hs, hashesOf(h, t));
      this.add(t, n, hs);
      typedHashes.delete(t);
    }
    // A typed hash without a name: the hash names the resource.
    for (const [t, hs] of typedHashes)
      for (const h of hs) {
        const c = hashesOf(h, t);
        const first = Object.values(c)[0];
        if (first) this.add(t, first, c);
      }
    // Children: what their keys imply.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, v] = entries[i] as [string, unknown];
      if (typeof v !== 'object' && typeof v !== 'string') continue;
      const nk = normKey(k);
      if (
        typeof v === 'string' &&
        (NAME_KEYS.has(nk) || TYPE_KEYS[nk] || PROMPT_KEYS.has(nk) || NEGATIVE_KEYS.has(nk))
      ) {
        // Already taken as a name or prompt; prompts may still hold <lora:…> tags and AIRs.
        if (!TYPE_KEYS[nk] && !NAME_KEYS.has(nk)) this.strings(v);
        continue;
      }
      if (nk in HASH_MAP_KEYS && (isObj(v) || typeof v === 'string')) {
        const t = HASH_MAP_KEYS[nk] ?? 'any';
        if (typeof v === 'string') {
          const inner = innerJson(v, f.depth);
          if (inner !== undefined) stack.push({ value: inner, type: undefined, depth: f.depth + 8, hashMap: t });
          else this.hashList(v, t === 'any' ? undefined : t);
        } else if (!algorithmMap(v)) stack.push({ value: v, type: undefined, depth: f.depth + 1, hashMap: t });
        continue;
      }
      // A string names a resource only under a key that says so (`"vae": "x"`, `"loras": ["a"]`);
      // objects and lists inherit the type of the key above them (`"loras": {"a": {"hash": …}}`).
      const childType =
        TYPE_KEYS[nk] ??
        (typeof v === 'string' || LIST_KEYS.has(nk) || KIND_KEYS.has(nk) || HASH_KEYS.has(nk) ? undefined : f.type);
      stack.push({ value: v, type: childType, depth: f.depth + 1 });
    }
  }

  /** `name: hash, name: hash` (A1111's quoted `Lora hashes`). */
  private hashList(text: string, type: ResourceType | undefined): void {
    for (const part of text.split(',', 256)) {
      const c = part.lastIndexOf(':');
      if (c < 0) continue;
      const { type: t, name } = hashMapKey(part.slice(0, c), type);
      if (!t) continue;
      const hs = hashesOf(part.slice(c + 1), t);
      const label = name ?? Object.values(hs)[0];
      if (label) this.add(t, label, hs);
    }
  }
}

/** `{"SHA256": "…", "AutoV2": "…"}`: one resource's hashes by algorithm (not a name → hash map). */
function algorithmMap(v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 0;
  for (const k of Object.keys(v)) {
    if (++n > 16) break;
    if (HASH_KEYS.has(normKey(k))) return true;
  }
  return false;
}

function isResourceList(o: Json): boolean {
  return Object.values(o).some((v) => Array.isArray(v));
}

/** `model`, `lora:name`, `embed:name`, or a bare name in a map whose key says the type. */
function hashMapKey(key: string, type: ResourceType | undefined): { type?: ResourceType; name?: string } {
  const k = key.trim();
  const colon = k.indexOf(':');
  if (colon > 0) {
    const t = resourceType(k.slice(0, colon));
    const name = k.slice(colon + 1).trim();
    return t && name ? { type: t, name } : {};
  }
  // `"model": "45a21ea00a"` in a hash map: the hash names the resource (its name is elsewhere).
  const typed = TYPE_KEYS[normKey(k)];
  if (typed && !type) return { type: typed };
  return type && k ? { type, name: k } : {};
}

/** [name, weight, hash] (Fooocus), [name, hash]: a list that is one resource. */
function tupleResource(v: unknown[]): { name: string; hash?: string } | undefined {
  if (v.length < 2 || v.length > 4 || typeof v[0] !== 'string' || !looksLikeName(v[0])) return undefined;
  if (!v.slice(1).every((x) => typeof x === 'number' || typeof x === 'string')) return undefined;
  if (v.slice(1).some((x) => typeof x === 'string' && !HEXISH.test(x.trim()) && !/^-?\d+(\.\d+)?$/.test(x.trim())))
    return undefined;
  const hash = v.slice(1).find((x): x is string => typeof x === 'string' && HEXISH.test(x.trim()));
  return hash ? { name: v[0], hash } : { name: v[0] };
}

/** A plausible model name: short, one line, not a number, not None. */
function looksLikeName(v: string): boolean {
  const t = v.trim();
  if (t.length === 0 || t.length > 300 || /^none$/i.test(t) || /^-?\d+(\.\d+)?$/.test(t)) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0x7b || c === 0x3c) return false;
  }
  return true;
}

function innerJson(s: string, depth: number): unknown {
  if (depth >= 16 || s.length < 2 || s.length > MAX_INNER_JSON) return undefined;
  const c = s.trimStart()[0];
  if (c !== '{' && c !== '[') return undefined;
  try {
    const j = JSON.parse(s) as unknown;
    return typeof j === 'object' && j !== null ? j : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Key-value text as an object: `key: value` or `key=value` lines, and lines of A1111-style
 * `key: value, key: value` pairs; values that are JSON are parsed. Undefined when fewer than two
 * pairs are found (prose is not a key-value block).
 */
export function keyValueBlock(text: string): Json | undefined {
  const out: Json = {};
  let pairs = 0;
  let lines = 0;
  let at = 0;
  while (at <= text.length && lines < MAX_KV_LINES) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const line = text.slice(at, nl).replace(/\r$/, '');
    at = nl + 1;
    lines++;
    if (line.length === 0 || line.length > MAX_INNER_JSON) continue;
    const eq = /^\s*([A-Za-z][\w .-]{0,47}?)\s*=\s*(.*)$/.exec(line.length > 4096 ? line.slice(0, 4096) : line);
    let kv: [string, string][] = [];
    if (eq) kv = [[eq[1] as string, line.slice(eq[0].length - (eq[2] as string).length)]];
    else if (/^\s*[A-Za-z][\w \-/+.()]{0,47}:\s/.test(line.slice(0, 64))) kv = parseParams(line);
    for (const [k, v] of kv) {
      if (k.length > 48) continue;
      pairs++;
      const inner = innerJson(v.trim(), 0);
      if (!(k in out)) out[k] = inner ?? v.trim();
    }
    if (at > text.length) break;
  }
  return pairs >= 2 ? out : undefined;
}

/** Walks a parsed JSON value or key-value object; adds what it finds to `into`. */
export function readGeneric(value: unknown, into: Resources, source: string): GenericResult {
  return new Walk(into, source).run(value);
}
