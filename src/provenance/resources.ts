/**
 * @module provenance/resources
 * Collecting the models an image names (checkpoints, LoRAs, embeddings, VAEs) from every source,
 * merged by type and name, and Civitai AIR URNs (`urn:air:sdxl:lora:civitai:<model>@<version>`).
 */
import { classifyHash } from './hashes.js';
import type { Resource, ResourceHashes, ResourceType } from './types.js';

const MAX_RESOURCES = 256;

const AIR = /urn:air:([a-z0-9_.-]+):([a-z0-9_.-]+):([a-z0-9_.-]+):([^\s"',@]+)(?:@([^\s"',]+))?/gi;

/** The resource type of an AIR or Civitai type name; undefined for types Ward does not track (upscalers...). */
export function resourceType(name: string): ResourceType | undefined {
  const t = name.toLowerCase().replace(/[^a-z]/g, '');
  if (t === 'checkpoint' || t === 'model' || t === 'unet' || t === 'diffusionmodel') return 'checkpoint';
  if (t === 'lora' || t === 'lycoris' || t === 'locon' || t === 'dora' || t === 'loha' || t === 'lokr') return 'lora';
  if (t === 'embedding' || t === 'embed' || t === 'textualinversion' || t === 'ti') return 'embedding';
  if (t === 'vae') return 'vae';
  return undefined;
}

/** Every AIR URN in a text. */
export function airsIn(text: string): { air: string; type: ResourceType }[] {
  const out: { air: string; type: ResourceType }[] = [];
  for (const m of text.matchAll(AIR)) {
    const type = resourceType(m[2] as string);
    if (type) out.push({ air: m[0], type });
  }
  return out;
}

/** Strips folders and the file extension: `loras/foo.safetensors` → `foo`. */
export function modelName(file: string): string {
  const base = file.replace(/\\/g, '/').split('/').pop() ?? file;
  return base.replace(/\.(safetensors|ckpt|pt|pth|bin|gguf|sft|onnx)$/i, '');
}

export class Resources {
  private readonly byKey = new Map<string, Resource>();

  /** Adds or merges a resource (same type and name: hashes and ids are merged). */
  add(type: ResourceType, name: string, hashes: ResourceHashes = {}, extra: Partial<Resource> = {}): void {
    const clean = name.trim();
    if (!clean || /^none$/i.test(clean) || clean.length > 1000) return;
    const key = `${type}\0${modelName(clean).toLowerCase()}`;
    const have = this.byKey.get(key);
    if (have) {
      have.hashes = { ...have.hashes, ...hashes };
      if (extra.air && !have.air) have.air = extra.air;
      return;
    }
    if (this.byKey.size >= MAX_RESOURCES) return;
    this.byKey.set(key, { type, name: clean, hashes: { ...hashes }, ...extra });
  }

  /** Adds a hash printed by a tool to the resource of that type and name. */
  addHash(type: ResourceType, name: string, printed: string, source?: string): void {
    this.add(type, name, classifyHash(printed, type), source ? { source } : {});
  }

  addAirs(text: string, source: string): void {
    for (const { air, type } of airsIn(text)) this.add(type, air, {}, { air, source });
  }

  list(): Resource[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }
}
