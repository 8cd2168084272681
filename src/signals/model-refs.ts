/**
 * @module signals/model-refs
 * Models named without a hash, as signal types a hotline or a hub can fill from its own records:
 *
 * - `model-name`: a model's file name. The value is the SHA-256 (64 hex) of the normalised stem,
 *   so banks and reports hold no names (a LoRA's name can itself be abusive text). Normalisation:
 *   the last path segment (`/` or `\`), a model extension dropped (`.safetensors`, `.ckpt`, `.pt`,
 *   `.pth`, `.bin`, `.gguf`, `.sft`, `.onnx`), Unicode NFKC, lower case, every run of spaces,
 *   `-`, `_` and `.` turned into one `_`, leading and trailing `_` dropped. So
 *   `loras/Bad-Lora v2.safetensors`, `bad_lora_v2` and `<lora:bad_lora_v2:0.8>` are one name.
 *   A bank imports plain file names (hashed on import) or their 64-hex hashes.
 * - `model-ref`: a model on a hub, as `civitai:model:<id>`, `civitai:version:<id>` or
 *   `hf:<sha256>` for a Hugging Face repository: the SHA-256 of `<owner>/<repo>` lower case
 *   (`datasets/<owner>/<repo>`, `spaces/<owner>/<repo>` for those), a hash because a repository's
 *   name is text. Banks import `hf:<owner>/<repo>` as written and hash it.
 *   A bank imports these forms or hub URLs and AIR URNs, which parse to the model id when the
 *   URL names one (`civitai.com/models/123/slug?modelVersionId=456` → `civitai:model:123`), else
 *   the version (`civitai.com/api/download/models/456` → `civitai:version:456`). Text that names
 *   both gives both, so a bank of models or of versions matches.
 *
 * Exact match only; nothing is ever fetched.
 */
import { createHash } from 'node:crypto';
import { WardError } from '../errors.js';
import { exactIndexKind } from '../match/exact-index.js';
import type { SignalType } from './types.js';

const HEX64 = /^[0-9a-f]{64}$/;
const MODEL_EXT = /\.(safetensors|ckpt|pt|pth|bin|gguf|sft|onnx)$/i;

/** The normalised stem of a model file name (see the module comment); '' when nothing is left. */
export function normalizeModelName(file: string): string {
  if (typeof file !== 'string') return '';
  const t = file.trim();
  let base = t.slice(Math.max(t.lastIndexOf('/'), t.lastIndexOf('\\')) + 1);
  base = base.replace(MODEL_EXT, '');
  let out = '';
  let sep = false;
  for (const ch of base.normalize('NFKC').toLowerCase()) {
    if (ch === ' ' || ch === '-' || ch === '_' || ch === '.' || ch === '\t') {
      sep = out.length > 0;
      continue;
    }
    if (sep) out += '_';
    sep = false;
    out += ch;
  }
  return out;
}

/** The `model-name` value of a file name, or undefined when the name normalises to nothing. */
export function modelNameSha256(file: string): string | undefined {
  const n = normalizeModelName(file);
  if (n.length === 0 || n.length > 512) return undefined;
  return createHash('sha256').update(n, 'utf8').digest('hex');
}

function invalid(what: string, value: unknown): WardError {
  return new WardError('WARD_ERR_SIGNAL_INVALID', `Expected ${what}`, {
    expected: what,
    actual: typeof value === 'string' ? `${value.length} characters` : typeof value,
  });
}

function parseModelName(value: string): string {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (HEX64.test(v)) return v;
  const h = typeof value === 'string' ? modelNameSha256(value) : undefined;
  if (h === undefined) throw invalid('a model file name or its 64-hex model-name hash', value);
  return h;
}

export const modelNameSignal: SignalType = {
  name: 'model-name',
  contentTypes: ['model', 'text', 'image'],
  parse: parseModelName,
  defaultThreshold: 0,
  compare: (a, b) => {
    const match = parseModelName(a) === parseModelName(b);
    return { match, distance: match ? 0 : 1 };
  },
  examples: [modelNameSha256('example_lora_v1.safetensors') as string],
  matching: 'exact',
  // Not detected from a bare value (64 hex is shared with sha256 and pdq): banks say `--signal model-name`.
  index: exactIndexKind,
};

/** Reserved first path segments of huggingface.co that are not owners. */
const HF_RESERVED = new Set([
  'docs',
  'blog',
  'join',
  'login',
  'settings',
  'pricing',
  'papers',
  'tasks',
  'learn',
  'models',
  'organizations',
  'collections',
  'posts',
  'chat',
  'enterprise',
  'new',
  'api',
  'search',
  'terms-of-service',
  'privacy',
  'huggingface',
  'inference-endpoints',
]);
const HF_KINDS = new Set(['datasets', 'spaces']);
const REPO_PART = /^[a-z0-9][a-z0-9._-]{0,95}$/;
const ID = /^\d{1,12}$/;

/**
 * `hf:<owner>/<repo>` → `hf:<SHA-256 of "<owner>/<repo>">`: a repository's name is text its owner
 * chose (it can itself be abusive), so it is kept as a hash, as links are (`url-sha256`).
 */
function hfHashed(ref: string): string {
  if (!ref.startsWith('hf:')) return ref;
  return `hf:${createHash('sha256').update(ref.slice(3), 'utf8').digest('hex')}`;
}

const stripId = (s: string | undefined): string | undefined => {
  if (s === undefined) return undefined;
  const m = /^(\d{1,12})/.exec(s);
  return m ? m[1] : undefined;
};

/**
 * The hub references a URL, AIR or `model-ref` text names: every form it gives (a Civitai model
 * and its version, a Hugging Face repo). Empty when it names none.
 */
export function modelRefsOf(input: string): string[] {
  if (typeof input !== 'string') return [];
  const s = input.trim();
  if (s.length === 0 || s.length > 8192) return [];
  const lower = s.toLowerCase();
  // Already normalised.
  const direct =
    /^(civitai:(?:model|version):\d{1,12}|hf:(?:(?:datasets|spaces)\/)?[a-z0-9][a-z0-9._-]{0,95}\/[a-z0-9][a-z0-9._-]{0,95})$/.exec(
      lower,
    );
  if (direct) return [hfHashed(direct[1] as string)];
  if (/^hf:[0-9a-f]{64}$/.test(lower)) return [lower];
  // AIR: urn:air:<ecosystem>:<type>:civitai:<model>@<version>
  if (lower.startsWith('urn:air:')) {
    const parts = lower.split(':');
    const source = parts[4];
    const id = parts.slice(5).join(':');
    if (source !== 'civitai' || !id) return [];
    const [model, version] = id.split('@');
    const out: string[] = [];
    const m = stripId(model);
    const v = stripId(version);
    if (m) out.push(`civitai:model:${m}`);
    if (v) out.push(`civitai:version:${v}`);
    return out;
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//.test(lower) ? s : `https://${s.replace(/^\/\//, '')}`);
  } catch {
    return [];
  }
  const host = url.hostname
    .toLowerCase()
    .replace(/^www\./, '')
    .replace(/\.$/, '');
  const seg = url.pathname
    .split('/')
    .filter((x) => x.length > 0)
    .map((x) => {
      try {
        return decodeURIComponent(x).toLowerCase();
      } catch {
        return x.toLowerCase();
      }
    });
  if (host === 'civitai.com' || host === 'civitai.green' || host === 'civitai.red') {
    const out: string[] = [];
    if (seg[0] === 'models' && ID.test(seg[1] ?? '')) out.push(`civitai:model:${seg[1]}`);
    if (seg[0] === 'api' && seg[1] === 'download' && seg[2] === 'models' && ID.test(seg[3] ?? ''))
      out.push(`civitai:version:${seg[3]}`);
    if (seg[0] === 'api' && seg[1] === 'v1' && seg[2] === 'models' && ID.test(seg[3] ?? ''))
      out.push(`civitai:model:${seg[3]}`);
    if (seg[0] === 'api' && seg[1] === 'v1' && seg[2] === 'model-versions' && ID.test(seg[3] ?? ''))
      out.push(`civitai:version:${seg[3]}`);
    const version = url.searchParams.get('modelVersionId');
    if (version && ID.test(version)) out.push(`civitai:version:${version}`);
    return out;
  }
  if (host === 'huggingface.co' || host === 'hf.co') {
    let kind = '';
    let rest = seg;
    if (HF_KINDS.has(seg[0] ?? '')) {
      kind = `${seg[0]}/`;
      rest = seg.slice(1);
    } else if (HF_RESERVED.has(seg[0] ?? '')) return [];
    const [owner, repo] = rest;
    if (!owner || !repo || !REPO_PART.test(owner) || !REPO_PART.test(repo)) return [];
    return [hfHashed(`hf:${kind}${owner}/${repo}`)];
  }
  return [];
}

function parseModelRef(value: string): string {
  const refs = modelRefsOf(value);
  // A URL naming a model and its version lists the model (a hotline lists models).
  const ref = refs.find((r) => r.startsWith('civitai:model:') || r.startsWith('hf:')) ?? refs[0];
  if (ref === undefined)
    throw invalid(
      'civitai:model:<id>, civitai:version:<id>, hf:<owner>/<repo>, a Civitai or Hugging Face URL, or an AIR',
      value,
    );
  return ref;
}

export const modelRefSignal: SignalType = {
  name: 'model-ref',
  contentTypes: ['model', 'text', 'image'],
  parse: parseModelRef,
  defaultThreshold: 0,
  compare: (a, b) => {
    const match = parseModelRef(a) === parseModelRef(b);
    return { match, distance: match ? 0 : 1 };
  },
  examples: ['civitai:model:12345', 'civitai:version:67890', hfHashed('hf:example-org/example-model')],
  matching: 'exact',
  detect: (value) => /^(civitai:(model|version):\d+|hf:\S+\/\S+|hf:[0-9a-f]{64})$/i.test(value.trim()),
  index: exactIndexKind,
};
