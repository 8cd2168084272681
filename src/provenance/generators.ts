/**
 * @module provenance/generators
 * Generation metadata from the text fields of an image, tool by tool: A1111-style infotext,
 * ComfyUI graphs, InvokeAI, NovelAI, Fooocus and RuinedFooocus, SwarmUI, TensorArt, Civitai. Each
 * reader adds what it finds (generator, prompts, models); nothing here throws on bad input.
 */
import { infotextGenerator, infotextResources, parseInfotext } from './a1111.js';
import { apiNodes, readApiGraph, readWorkflow } from './comfyui.js';
import { keyValueBlock, readGeneric } from './generic.js';
import type { TextEntry } from './metadata.js';
import { Resources } from './resources.js';
import type { Evidence, MetadataIssue } from './types.js';

export interface GenerationInfo {
  generator?: string;
  prompt?: string;
  negativePrompt?: string;
  resources: Resources;
  evidence: Evidence[];
  issues: MetadataIssue[];
}

type Json = Record<string, unknown>;

function parseJson(text: string): unknown {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t.replace(/\0+$/, ''));
  } catch {
    return undefined;
  }
}

const obj = (v: unknown): Json | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const s = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

class Builder {
  readonly info: GenerationInfo = { resources: new Resources(), evidence: [], issues: [] };
  /** Lower numbers win for the generator and the prompts. */
  private rank = { generator: 99, prompt: 99 };

  generator(name: string | undefined, rank: number): void {
    if (name && rank < this.rank.generator) {
      this.info.generator = name;
      this.rank.generator = rank;
    }
  }

  prompts(prompt: string | undefined, negative: string | undefined, rank: number): void {
    if (prompt === undefined && negative === undefined) return;
    if (rank >= this.rank.prompt) return;
    this.rank.prompt = rank;
    if (prompt !== undefined) this.info.prompt = prompt;
    else delete this.info.prompt;
    if (negative !== undefined) this.info.negativePrompt = negative;
    else delete this.info.negativePrompt;
  }

  evidence(kind: Evidence['kind'], detail: string, strength: Evidence['strength'] = 'yes'): void {
    if (!this.info.evidence.some((e) => e.kind === kind && e.detail === detail))
      this.info.evidence.push({ kind, detail, strength });
  }
}

/**
 * Reads every text entry (PNG chunks, EXIF tags, comments, stealth payloads) with the known tools'
 * readers, then the generic pass (provenance/generic) over every entry they did not recognise, over
 * the PNG text chunks no reader took (one key-value block: a tool writing one chunk per setting),
 * and over `generic` blocks (XMP properties), which only the generic pass reads.
 */
export function readGeneration(texts: readonly TextEntry[], generic: readonly GenericBlock[] = []): GenerationInfo {
  const b = new Builder();
  const byKey = new Map<string, TextEntry>();
  for (const t of texts) if (!byKey.has(t.key)) byKey.set(t.key, t);
  const leftover: Record<string, unknown> = {};
  let leftovers = 0;
  for (const t of texts) {
    const size = b.info.resources.size;
    const strong = b.info.evidence.filter((e) => e.strength === 'yes').length;
    readEntry(t, byKey, b);
    if (b.info.resources.size !== size || b.info.evidence.filter((e) => e.strength === 'yes').length !== strong)
      continue;
    if (t.key === 'Comment' && /novelai/i.test(byKey.get('Software')?.value ?? '')) continue;
    const exifBlock = t.where === 'exif' && GENERIC_EXIF.has(t.key);
    if (t.where !== 'exif' || exifBlock) {
      const json = parseJson(t.value);
      if (json !== undefined && typeof json === 'object' && json !== null) {
        genericPass(json, where(t), b);
        continue;
      }
    }
    if (exifBlock || t.where === 'stealth' || GENERIC_TEXT_KEYS.has(t.key)) {
      const kv = keyValueBlock(t.value);
      if (kv) genericPass(kv, where(t), b);
    } else if (t.where.startsWith('png:') && leftovers < 1000 && !(t.key in leftover)) {
      leftover[t.key] = t.value;
      leftovers++;
    }
  }
  if (leftovers >= 2) genericPass(leftover, 'PNG text chunks', b);
  for (const g of generic) genericPass(g.value, g.source, b);
  return b.info;
}

/** A block only the generic pass reads (XMP properties as one object). */
export interface GenericBlock {
  value: unknown;
  source: string;
}

/** EXIF tags whose value may be a generator's block (JSON or key-value text); never Make or Model. */
const GENERIC_EXIF = new Set(['UserComment', 'XPComment', 'ImageDescription']);
/** Text keys read as key-value blocks when they are not JSON. */
const GENERIC_TEXT_KEYS = new Set(['parameters', 'Comment', 'Description', 'comment', 'metadata', 'Metadata']);

function genericPass(value: unknown, src: string, b: Builder): void {
  const r = readGeneric(value, b.info.resources, src);
  if (r.generation) {
    b.prompts(r.prompt, r.negativePrompt, 50);
    b.evidence('generation-parameters', `generation parameters (models and sampler settings) in ${src}`);
  }
}

function where(t: TextEntry): string {
  if (t.where === 'stealth') return 'pixel LSBs';
  return t.where === 'exif'
    ? `EXIF ${t.key}`
    : t.where.startsWith('png:')
      ? `PNG ${t.where.slice(4)} ${JSON.stringify(t.key)}`
      : `${t.where} ${t.key}`;
}

function readEntry(t: TextEntry, byKey: Map<string, TextEntry>, b: Builder): void {
  const key = t.key;
  const value = t.value;
  const src = where(t);
  if (key === 'parameters' || key === 'UserComment' || key === 'XPComment' || key === 'Comment' || key === 'stealth') {
    if (key === 'Comment' && /novelai/i.test(byKey.get('Software')?.value ?? '')) return; // read with Software below
    if (readJsonParameters(value, src, byKey, b)) return;
    const info = parseInfotext(value);
    if (info) {
      b.generator(infotextGenerator(info), 10);
      b.prompts(info.prompt, info.negativePrompt, 10);
      infotextResources(info, b.info.resources, src);
      b.evidence(
        key === 'stealth' ? 'stealth-metadata' : 'generation-parameters',
        `A1111-style generation parameters in ${src}`,
      );
    }
    return;
  }
  if (key === 'prompt' || key === 'workflow') {
    readComfyJson(parseJson(value), key, src, b);
    return;
  }
  if ((key === 'ImageDescription' || key === 'Make' || key === 'Model') && t.where === 'exif') {
    // ComfyUI savers: "Workflow: {...}", "Prompt: {...}", "workflow:{...}", "prompt:{...}".
    const m = /^\s*(prompt|workflow)\s*:\s*/i.exec(value);
    if (m)
      readComfyJson(
        parseJson(value.slice(m[0].length)),
        (m[1] as string).toLowerCase() as 'prompt' | 'workflow',
        src,
        b,
      );
    return;
  }
  if (key === 'invokeai_metadata') readInvoke(parseJson(value), src, b);
  else if (key === 'sd-metadata') readInvokeLegacy(parseJson(value), src, b);
  else if (key === 'Dream') readDream(value, src, b);
  else if (key === 'generation_data') readTensorArt(parseJson(value), src, b);
  else if (key === 'Software' && /novelai/i.test(value)) readNovelAi(byKey, src, b);
  else if (key === 'Software' || key === 'CreatorTool') softwareEvidence(value, src, b);
}

/** JSON in `parameters` / UserComment: SwarmUI, Fooocus, RuinedFooocus, ComfyUI graphs. */
function readJsonParameters(value: string, src: string, byKey: Map<string, TextEntry>, b: Builder): boolean {
  const j = obj(parseJson(value));
  if (!j) return false;
  const sui = obj(j.sui_image_params);
  if (sui) {
    b.generator(`SwarmUI${s(sui.swarm_version) ? ` ${sui.swarm_version}` : ''}`, 5);
    b.prompts(s(sui.prompt), s(sui.negativeprompt), 5);
    const models = Array.isArray(j.sui_models) ? j.sui_models : [];
    for (const m of models.slice(0, 256)) {
      const o = obj(m);
      const name = s(o?.name);
      if (!o || !name) continue;
      const type =
        o.param === 'loras'
          ? 'lora'
          : o.param === 'vae'
            ? 'vae'
            : o.param === 'model' || o.param === 'refinermodel'
              ? 'checkpoint'
              : undefined;
      if (!type) continue;
      if (s(o.hash)) b.info.resources.addHash(type, name, o.hash as string, src);
      else b.info.resources.add(type, name, {}, { source: src });
    }
    if (s(sui.model) && models.length === 0)
      b.info.resources.add('checkpoint', sui.model as string, {}, { source: src });
    const loras = Array.isArray(sui.loras) ? sui.loras : [];
    for (const l of loras) if (typeof l === 'string') b.info.resources.add('lora', l, {}, { source: src });
    b.evidence('generation-parameters', `SwarmUI sui_image_params in ${src}`);
    return true;
  }
  const isRuined = s(j.software) === 'RuinedFooocus';
  const isFooocus =
    isRuined ||
    s(j.metadata_scheme) === 'fooocus' ||
    /^fooocus/i.test(s(j.version) ?? '') ||
    byKey.get('fooocus_scheme') !== undefined;
  if (isFooocus) {
    b.generator(isRuined ? 'RuinedFooocus' : (s(j.version) ?? 'Fooocus'), 5);
    b.prompts(s(j.prompt) ?? s(j.Prompt), s(j.negative_prompt) ?? s(j.Negative), 5);
    const base = s(j.base_model) ?? s(j.base_model_name);
    if (base) {
      const hash = s(j.base_model_hash);
      if (hash) b.info.resources.addHash('checkpoint', base, hash, src);
      else b.info.resources.add('checkpoint', base, {}, { source: src });
    }
    const refiner = s(j.refiner_model);
    if (refiner && refiner !== 'None') {
      const hash = s(j.refiner_model_hash);
      if (hash) b.info.resources.addHash('checkpoint', refiner, hash, src);
      else b.info.resources.add('checkpoint', refiner, {}, { source: src });
    }
    for (const l of Array.isArray(j.loras) ? j.loras.slice(0, 256) : []) {
      // Fooocus: [name, weight, hash]; RuinedFooocus: [name, weight] or {name, hash}.
      const name = Array.isArray(l) ? s(l[0]) : s(obj(l)?.name);
      const hash = Array.isArray(l) ? s(l[2]) : s(obj(l)?.hash);
      if (!name) continue;
      if (hash) b.info.resources.addHash('lora', name, hash, src);
      else b.info.resources.add('lora', name, {}, { source: src });
    }
    b.evidence('generation-parameters', `${isRuined ? 'RuinedFooocus' : 'Fooocus'} parameters in ${src}`);
    return true;
  }
  // SaveImagePlus: {"prompt": {...}, "workflow": {...}}; Civitai: an API graph with extra.airs.
  if (obj(j.prompt) || obj(j.workflow)) {
    if (obj(j.prompt)) readComfyJson(j.prompt, 'prompt', src, b);
    if (obj(j.workflow)) readComfyJson(j.workflow, 'workflow', src, b);
    return true;
  }
  if (apiNodes(j)) {
    readComfyJson(j, 'prompt', src, b);
    return true;
  }
  const prompt = s(j.prompt) ?? s(j.positive_prompt);
  if (prompt !== undefined) {
    b.prompts(prompt, s(j.negative_prompt) ?? s(j.negativePrompt) ?? s(j.uc), 30);
    b.evidence('generation-parameters', `generation parameters (JSON) in ${src}`, 'likely');
    return true;
  }
  return false;
}

function readComfyJson(graph: unknown, kind: 'prompt' | 'workflow', src: string, b: Builder): void {
  if (graph === undefined) {
    b.info.issues.push({ code: 'WARD_ERR_METADATA_CORRUPT', message: `${src}: ComfyUI ${kind} is not valid JSON` });
    return;
  }
  const r = b.info.resources;
  if (kind === 'prompt') {
    const nodes = apiNodes(graph);
    if (!nodes) return;
    const info = readApiGraph(nodes, r, src);
    const g = obj(graph);
    const extra = obj(g?.extra);
    if (extra && Array.isArray(extra.airs)) for (const a of extra.airs) if (typeof a === 'string') r.addAirs(a, src);
    const civitai = extra?.airs !== undefined || typeof g?.extraMetadata === 'string';
    b.generator(civitai ? 'Civitai (ComfyUI)' : 'ComfyUI', civitai ? 15 : 40);
    b.prompts(info.prompt, info.negativePrompt, 40);
    b.evidence(
      'workflow-graph',
      `ComfyUI graph (${info.nodes} nodes${info.sampler ? ', with a sampler' : ''}) in ${src}`,
      info.sampler ? 'yes' : 'likely',
    );
    return;
  }
  const info = readWorkflow(graph, r, src);
  if (!info) return;
  b.generator('ComfyUI', 45);
  b.prompts(info.prompt, info.negativePrompt, 45);
  b.evidence('workflow-graph', `ComfyUI workflow (${info.nodes} nodes) in ${src}`, info.sampler ? 'yes' : 'likely');
}

/** InvokeAI 3+: `invokeai_metadata` (model hashes `blake3:…`). */
function readInvoke(v: unknown, src: string, b: Builder): void {
  const j = obj(v);
  if (!j) return;
  b.generator(`InvokeAI${s(j.app_version) ? ` ${j.app_version}` : ''}`, 5);
  b.prompts(s(j.positive_prompt), s(j.negative_prompt), 5);
  const model = (m: unknown, type: 'checkpoint' | 'lora' | 'vae') => {
    const o = obj(m);
    const name = s(o?.name) ?? s(o?.model_name);
    if (!o || !name) return;
    if (s(o.hash)) b.info.resources.addHash(type, name, o.hash as string, src);
    else b.info.resources.add(type, name, {}, { source: src });
  };
  model(j.model, 'checkpoint');
  model(j.refiner_model, 'checkpoint');
  model(j.vae, 'vae');
  for (const l of Array.isArray(j.loras) ? j.loras.slice(0, 256) : [])
    model(obj(l)?.model ?? obj(l)?.lora ?? l, 'lora');
  b.evidence('generation-parameters', `InvokeAI metadata in ${src}`);
}

/** InvokeAI 2.x `sd-metadata` (model_hash: full SHA-256). */
function readInvokeLegacy(v: unknown, src: string, b: Builder): void {
  const j = obj(v);
  if (!j) return;
  b.generator(`InvokeAI${s(j.app_version) ? ` ${j.app_version}` : ''}`, 6);
  const weights = s(j.model_weights);
  if (weights) {
    if (s(j.model_hash)) b.info.resources.addHash('checkpoint', weights, j.model_hash as string, src);
    else b.info.resources.add('checkpoint', weights, {}, { source: src });
  }
  const image = obj(j.image);
  const prompts = Array.isArray(image?.prompt) ? image.prompt : [];
  const text = s(obj(prompts[0])?.prompt) ?? s(image?.prompt);
  if (text) {
    const { prompt, negative } = splitBracketNegative(text);
    b.prompts(prompt, negative, 6);
  }
  b.evidence('generation-parameters', `InvokeAI sd-metadata in ${src}`);
}

/** `"prompt [negative]"`: InvokeAI's legacy notation for the negative prompt. */
function splitBracketNegative(text: string): { prompt: string; negative?: string } {
  const negatives = [...text.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] as string);
  if (negatives.length === 0) return { prompt: text.trim() };
  return { prompt: text.replace(/\s*\[[^\]]*\]/g, '').trim(), negative: negatives.join(', ').trim() };
}

/** InvokeAI 1.x/2.x `Dream`: `"prompt [negative]" -s 50 -S 123 -W 512 -H 768 -C 5 -A k_lms`. */
function readDream(value: string, src: string, b: Builder): void {
  const m = /^\s*"((?:[^"\\]|\\.)*)"\s+(-\w.*)$/s.exec(value);
  if (!m) return;
  b.generator('InvokeAI (dream)', 20);
  const { prompt, negative } = splitBracketNegative(m[1] as string);
  b.prompts(prompt, negative, 20);
  b.evidence('generation-parameters', `InvokeAI dream command in ${src}`);
}

/** NovelAI: Software "NovelAI", Source (model), Comment JSON (prompt, uc), Description (prompt). */
function readNovelAi(byKey: Map<string, TextEntry>, src: string, b: Builder): void {
  const source = byKey.get('Source')?.value;
  const comment = obj(parseJson(byKey.get('Comment')?.value ?? ''));
  b.generator(source ? `NovelAI (${source})` : 'NovelAI', 5);
  const v4 = obj(obj(comment?.v4_prompt)?.caption);
  const v4neg = obj(obj(comment?.v4_negative_prompt)?.caption);
  const prompt = s(comment?.prompt) ?? s(v4?.base_caption) ?? byKey.get('Description')?.value;
  const negative = s(comment?.uc) ?? s(v4neg?.base_caption);
  b.prompts(prompt, negative, 5);
  if (source)
    b.info.resources.add('checkpoint', source.replace(/\s+[0-9A-F]{8}$/, ''), {}, { source: 'PNG tEXt "Source"' });
  b.evidence(
    'generation-parameters',
    `NovelAI metadata (${comment ? 'Software, Source, Comment' : 'Software'}) in ${src.replace(/"Software"/, '')}`.trim(),
  );
}

/** TensorArt `generation_data`: prompts and the base model's SHA-256. */
function readTensorArt(v: unknown, src: string, b: Builder): void {
  const j = obj(v);
  if (!j) return;
  b.generator('TensorArt', 8);
  b.prompts(s(j.prompt), s(j.negativePrompt), 8);
  const base = obj(j.baseModel);
  const name = s(base?.modelFileName) ?? s(base?.label);
  if (base && name) {
    if (s(base.hash)) b.info.resources.addHash('checkpoint', name, base.hash as string, src);
    else b.info.resources.add('checkpoint', name, {}, { source: src });
  }
  for (const l of Array.isArray(j.models) ? j.models.slice(0, 256) : []) {
    const o = obj(l);
    const n = s(o?.modelFileName) ?? s(o?.label);
    if (!o || !n) continue;
    const type = /lora|lycoris/i.test(s(o.type) ?? '')
      ? 'lora'
      : /embed/i.test(s(o.type) ?? '')
        ? 'embedding'
        : undefined;
    if (!type) continue;
    if (s(o.hash)) b.info.resources.addHash(type, n, o.hash as string, src);
    else b.info.resources.add(type, n, {}, { source: src });
  }
  b.evidence('generation-parameters', `TensorArt generation_data in ${src}`);
}

/** Tools that only generate images: their name in Software / CreatorTool is evidence on its own. */
const AI_SOFTWARE =
  /\b(stable ?diffusion|novelai|midjourney|dall[·-]?e|comfyui|invokeai|automatic1111|fooocus|swarmui|sd\.next|firefly|imagen|ideogram|leonardo\.ai|flux|gpt-image|nightcafe|dreamstudio)\b/i;

function softwareEvidence(value: string, src: string, b: Builder): void {
  const m = AI_SOFTWARE.exec(value);
  if (m) {
    b.evidence('software', `${src} names an image generator (${m[0]})`, 'likely');
    b.generator(value.slice(0, 100), 60);
  }
}
