/**
 * @module provenance/comfyui
 * ComfyUI graphs: the API `prompt` (node id → {class_type, inputs}) and the UI `workflow` (nodes and
 * links). Finds the checkpoint, LoRA, VAE and embedding loaders, and the positive and negative
 * prompts of the sampler that feeds the saved image. Graph walks keep a visited set and a step
 * budget, so cyclic or huge graphs end.
 */
import { modelName, type Resources } from './resources.js';

const MAX_NODES = 10_000;
const TEXT_KEYS = [
  'text',
  'text_g',
  'text_l',
  'prompt',
  'string',
  'value',
  'positive',
  'negative',
  'wildcard_text',
  'populated_text',
];
const MODEL_FILE = /\.(safetensors|ckpt|pt|pth|bin|gguf|sft)$/i;

type ApiNode = { class_type: string; inputs: Record<string, unknown>; _meta?: { title?: unknown } };

export interface GraphInfo {
  prompt?: string;
  negativePrompt?: string;
  /** Whether the graph has a sampler (generation) node. */
  sampler: boolean;
  nodes: number;
}

function isLink(v: unknown): v is [string | number, number] {
  return (
    Array.isArray(v) &&
    v.length === 2 &&
    (typeof v[0] === 'string' || typeof v[0] === 'number') &&
    typeof v[1] === 'number'
  );
}

/** The API graph's nodes, or undefined when the value is not an API graph. */
export function apiNodes(graph: unknown): Map<string, ApiNode> | undefined {
  if (!graph || typeof graph !== 'object' || Array.isArray(graph)) return undefined;
  const nodes = new Map<string, ApiNode>();
  for (const [id, n] of Object.entries(graph as Record<string, unknown>)) {
    if (nodes.size >= MAX_NODES) break;
    if (!n || typeof n !== 'object') continue;
    const o = n as Record<string, unknown>;
    if (typeof o.class_type !== 'string') continue;
    const inputs =
      o.inputs && typeof o.inputs === 'object' && !Array.isArray(o.inputs) ? (o.inputs as Record<string, unknown>) : {};
    nodes.set(id, {
      class_type: o.class_type,
      inputs,
      ...(o._meta && typeof o._meta === 'object' ? { _meta: o._meta as { title?: unknown } } : {}),
    });
  }
  return nodes.size > 0 ? nodes : undefined;
}

const isSampler = (n: ApiNode) => /sampler/i.test(n.class_type) && ('positive' in n.inputs || 'negative' in n.inputs);
const isOutput = (n: ApiNode) => /save|preview|image ?output/i.test(n.class_type);

/** Breadth-first over input links from `starts` (visited set: cycles end); stops when `visit` says so. */
function walk(
  nodes: Map<string, ApiNode>,
  starts: unknown[],
  visit: (id: string, n: ApiNode) => boolean | undefined,
): void {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const s of starts) if (isLink(s)) queue.push(String(s[0]));
  let steps = 0;
  while (queue.length > 0 && steps++ < MAX_NODES * 4) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const n = nodes.get(id);
    if (!n) continue;
    if (visit(id, n) === true) return;
    for (const v of Object.values(n.inputs)) if (isLink(v) && !seen.has(String(v[0]))) queue.push(String(v[0]));
  }
}

/** Texts feeding one conditioning input (through combine/area/concat nodes), in walk order. */
function textsFrom(nodes: Map<string, ApiNode>, link: unknown): string[] {
  const texts: string[] = [];
  walk(nodes, [link], (_id, n) => {
    if (/loader|checkpoint|vae|clipsetlastlayer|image/i.test(n.class_type) && !/text|prompt|string/i.test(n.class_type))
      return false;
    for (const k of TEXT_KEYS) {
      const v = n.inputs[k];
      if (typeof v === 'string' && v.trim().length > 0 && !texts.includes(v)) texts.push(v);
    }
    return false;
  });
  return texts;
}

/** Reads an API graph: models into `into`, and the prompts of the final sampler. */
export function readApiGraph(nodes: Map<string, ApiNode>, into: Resources, source: string): GraphInfo {
  for (const n of nodes.values()) nodeResources(n, into, source);
  // The sampler nearest the saved image; else any sampler.
  let sampler: ApiNode | undefined;
  const outputs = [...nodes.entries()].filter(([, n]) => isOutput(n)).map(([id]) => [id, 0]);
  walk(nodes, outputs, (_id, n) => {
    if (isSampler(n)) {
      sampler = n;
      return true;
    }
    return false;
  });
  sampler ??= [...nodes.values()].find(isSampler);
  const info: GraphInfo = { sampler: sampler !== undefined, nodes: nodes.size };
  if (sampler) {
    const pos = textsFrom(nodes, sampler.inputs.positive);
    const neg = textsFrom(nodes, sampler.inputs.negative);
    if (pos.length > 0) info.prompt = pos.join('\n');
    if (neg.length > 0) info.negativePrompt = neg.join('\n');
  } else {
    // No sampler: nodes titled Positive / Negative (Civitai, some custom graphs).
    for (const n of nodes.values()) {
      const title = typeof n._meta?.title === 'string' ? n._meta.title : '';
      const text = typeof n.inputs.text === 'string' ? n.inputs.text : undefined;
      if (!text) continue;
      if (/negative/i.test(title)) info.negativePrompt ??= text;
      else if (/positive|prompt/i.test(title)) info.prompt ??= text;
    }
  }
  return info;
}

function addModel(into: Resources, type: 'checkpoint' | 'lora' | 'vae', value: unknown, source: string): void {
  if (typeof value !== 'string' || value.length === 0 || /^(none|baked vae|automatic)$/i.test(value)) return;
  if (value.startsWith('urn:air:')) into.addAirs(value, source);
  else into.add(type, modelName(value), {}, { source });
}

function nodeResources(n: ApiNode, into: Resources, source: string): void {
  const where = `${source}:${n.class_type}`;
  for (const [k, v] of Object.entries(n.inputs)) {
    if (/^(base_|refiner_)?ckpt_name$|^unet_name$/.test(k)) addModel(into, 'checkpoint', v, where);
    else if (k === 'model_name' && /checkpoint|unet|diffusion/i.test(n.class_type))
      addModel(into, 'checkpoint', v, where);
    else if (/^lora_name(_\d+)?$|^lora_\d+$|^lora$/.test(k)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (o.on !== false) addModel(into, 'lora', o.lora, where);
      } else addModel(into, 'lora', v, where);
    } else if (k === 'vae_name') addModel(into, 'vae', v, where);
    else if (typeof v === 'string') {
      if (v.includes('urn:air:')) into.addAirs(v, where);
      if (TEXT_KEYS.includes(k))
        for (const m of v.matchAll(/embedding:([\w.\-/\\]+)/gi))
          into.add('embedding', modelName(m[1] as string), {}, { source: where });
    }
  }
}

type UiNode = { id: unknown; type: string; widgets_values?: unknown; inputs?: { name?: unknown; link?: unknown }[] };

/** Reads a UI workflow (nodes + links): models from loader widgets, prompts through sampler links. */
export function readWorkflow(graph: unknown, into: Resources, source: string): GraphInfo | undefined {
  if (!graph || typeof graph !== 'object' || !Array.isArray((graph as { nodes?: unknown }).nodes)) return undefined;
  const nodes = ((graph as { nodes: unknown[] }).nodes.slice(0, MAX_NODES) as UiNode[]).filter(
    (n) => n && typeof n === 'object' && typeof n.type === 'string',
  );
  const links = Array.isArray((graph as { links?: unknown }).links)
    ? ((graph as { links: unknown[] }).links as unknown[])
    : [];
  const linkFrom = new Map<unknown, unknown>();
  for (const l of links.slice(0, MAX_NODES * 4)) {
    if (Array.isArray(l) && l.length >= 2) linkFrom.set(l[0], l[1]);
    else if (l && typeof l === 'object')
      linkFrom.set((l as { id?: unknown }).id, (l as { origin_id?: unknown }).origin_id);
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) {
    const widgets = Array.isArray(n.widgets_values) ? n.widgets_values : [];
    const files = widgets.filter(
      (w): w is string => typeof w === 'string' && (MODEL_FILE.test(w) || w.startsWith('urn:air:')),
    );
    const where = `${source}:${n.type}`;
    if (/lora/i.test(n.type)) for (const f of files) addModel(into, 'lora', f, where);
    else if (/checkpoint|unet/i.test(n.type)) for (const f of files) addModel(into, 'checkpoint', f, where);
    else if (/vaeloader/i.test(n.type)) for (const f of files) addModel(into, 'vae', f, where);
  }
  const sampler = nodes.find((n) => /sampler/i.test(n.type) && (n.inputs ?? []).some((i) => i?.name === 'positive'));
  const info: GraphInfo = { sampler: sampler !== undefined, nodes: nodes.length };
  const textVia = (name: string): string | undefined => {
    const input = (sampler?.inputs ?? []).find((i) => i?.name === name);
    const origin = byId.get(linkFrom.get(input?.link));
    const w = Array.isArray(origin?.widgets_values) ? origin.widgets_values[0] : undefined;
    return typeof w === 'string' && w.trim().length > 0 ? w : undefined;
  };
  const p = textVia('positive');
  const ng = textVia('negative');
  if (p) info.prompt = p;
  if (ng) info.negativePrompt = ng;
  return info;
}
