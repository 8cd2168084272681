/**
 * @module models/tensorfp-names
 * Canonical layer identity for weight fingerprints (models/tensorfp): a tensor name in any of
 * the namings adapters and checkpoints use — kohya (`lora_unet_down_blocks_0_..._to_q.lora_up.weight`),
 * diffusers (`unet.down_blocks.0....to_q.lora.up.weight`, attention processors
 * `...attn1.processor.to_q_lora.down.weight`, `lora_linear_layer`), PEFT (`base_model.model....lora_A.weight`),
 * and original (ldm) Stable Diffusion checkpoints (`model.diffusion_model.input_blocks.1.1....`,
 * `cond_stage_model.transformer.text_model...`) — becomes one key: a component (`unet`, `te1`,
 * `te2`, `vae`, `x` unknown) and the module path in kohya's underscore form of diffusers names
 * (kohya itself derives its names that way: the module path with `.` replaced by `_`). The ldm
 * UNet layout is mapped to diffusers block names with the SD 1.x table (the same table as
 * diffusers' checkpoint converter); other layouts keep their own names, consistently.
 */

/** What a tensor contributes to its layer. */
export type LayerRole =
  | 'up'
  | 'down'
  | 'alpha'
  | 'weight'
  | 'diff'
  | 'hada_w1_a'
  | 'hada_w1_b'
  | 'hada_w2_a'
  | 'hada_w2_b'
  | 'lokr_w1'
  | 'lokr_w1_a'
  | 'lokr_w1_b'
  | 'lokr_w2'
  | 'lokr_w2_a'
  | 'lokr_w2_b'
  /** Parts Ward does not fold into a fingerprint (Tucker cores, LoRA mid): the layer is skipped. */
  | 'unsupported'
  | 'ignore';

const SUFFIXES: readonly [RegExp, LayerRole][] = [
  [/\.lora_up\.weight$/, 'up'],
  [/\.lora_down\.weight$/, 'down'],
  [/\.lora_mid\.weight$/, 'unsupported'],
  [/[._]lora\.up\.weight$/, 'up'],
  [/[._]lora\.down\.weight$/, 'down'],
  [/\.lora_linear_layer\.up\.weight$/, 'up'],
  [/\.lora_linear_layer\.down\.weight$/, 'down'],
  [/\.lora_B(\.default)?\.weight$/, 'up'],
  [/\.lora_A(\.default)?\.weight$/, 'down'],
  [/\.lora_magnitude_vector(\.default)?(\.weight)?$/, 'ignore'],
  [/\.(hada_t1|hada_t2|lokr_t1|lokr_t2)$/, 'unsupported'],
  [/\.hada_w1_a$/, 'hada_w1_a'],
  [/\.hada_w1_b$/, 'hada_w1_b'],
  [/\.hada_w2_a$/, 'hada_w2_a'],
  [/\.hada_w2_b$/, 'hada_w2_b'],
  [/\.lokr_w1$/, 'lokr_w1'],
  [/\.lokr_w1_a$/, 'lokr_w1_a'],
  [/\.lokr_w1_b$/, 'lokr_w1_b'],
  [/\.lokr_w2$/, 'lokr_w2'],
  [/\.lokr_w2_a$/, 'lokr_w2_a'],
  [/\.lokr_w2_b$/, 'lokr_w2_b'],
  [/\.alpha$/, 'alpha'],
  [/\.diff$/, 'diff'],
  [/\.(dora_scale|diff_b|bias|w_norm|b_norm|on_input|oft_blocks|oft_diag|boft_blocks)$/, 'ignore'],
  [/\.weight$/, 'weight'],
];

/** Component prefixes (underscore form), longest first where they overlap. */
const COMPONENTS: readonly [string, string][] = [
  ['lora_unet_', 'unet'],
  ['lora_te1_', 'te1'],
  ['lora_te2_', 'te2'],
  ['lora_te_', 'te1'],
  ['model_diffusion_model_', 'unet'],
  ['cond_stage_model_transformer_', 'te1'],
  ['conditioner_embedders_0_transformer_', 'te1'],
  ['conditioner_embedders_1_model_', 'te2'],
  ['first_stage_model_', 'vae'],
  ['text_encoder_2_', 'te2'],
  ['text_encoder_', 'te1'],
  ['unet_', 'unet'],
  ['vae_', 'vae'],
];

const UNET_START =
  /^(down_blocks|up_blocks|mid_block|conv_in|conv_out|conv_norm_out|time_embedding|input_blocks|output_blocks|middle_block|time_embed|add_embedding|label_emb)(_|$)/;

const RESNET: Readonly<Record<string, string>> = {
  in_layers_0: 'norm1',
  in_layers_2: 'conv1',
  emb_layers_1: 'time_emb_proj',
  out_layers_0: 'norm2',
  out_layers_3: 'conv2',
  skip_connection: 'conv_shortcut',
};

function resnet(rest: string): string {
  return RESNET[rest] ?? rest;
}

/** The ldm (original Stable Diffusion) UNet names in diffusers' layout (SD 1.x table). */
function ldmToDiffusers(p: string): string {
  let m = /^input_blocks_(\d+)_(\d+)(?:_(.*))?$/.exec(p);
  if (m) {
    const n = Number(m[1]);
    const sub = Number(m[2]);
    const rest = m[3] ?? '';
    if (n === 0) return 'conv_in';
    if (n % 3 === 0 && rest.startsWith('op')) return `down_blocks_${n / 3 - 1}_downsamplers_0_conv`;
    const block = Math.floor((n - 1) / 3);
    const j = (n - 1) % 3;
    return sub === 0
      ? `down_blocks_${block}_resnets_${j}_${resnet(rest)}`
      : `down_blocks_${block}_attentions_${j}_${rest}`;
  }
  m = /^middle_block_(\d+)_(.*)$/.exec(p);
  if (m) {
    const i = Number(m[1]);
    const rest = m[2] as string;
    if (i === 1) return `mid_block_attentions_0_${rest}`;
    return `mid_block_resnets_${i === 0 ? 0 : 1}_${resnet(rest)}`;
  }
  m = /^output_blocks_(\d+)_(\d+)_(.*)$/.exec(p);
  if (m) {
    const n = Number(m[1]);
    const sub = Number(m[2]);
    const rest = m[3] as string;
    const block = Math.floor(n / 3);
    if (sub === 0) return `up_blocks_${block}_resnets_${n % 3}_${resnet(rest)}`;
    if (rest === 'conv') return `up_blocks_${block}_upsamplers_0_conv`;
    return `up_blocks_${block}_attentions_${n % 3}_${rest}`;
  }
  if (p === 'time_embed_0') return 'time_embedding_linear_1';
  if (p === 'time_embed_2') return 'time_embedding_linear_2';
  if (p === 'out_0') return 'conv_norm_out';
  if (p === 'out_2') return 'conv_out';
  return p;
}

export interface CanonicalName {
  /** `component:module_path` (underscore form). */
  key: string;
  role: LayerRole;
}

/** The canonical layer key and the tensor's role, or undefined for tensors no layer uses. */
export function canonicalLayer(name: string): CanonicalName | undefined {
  let role: LayerRole | undefined;
  let module = '';
  for (const [re, r] of SUFFIXES) {
    const m = re.exec(name);
    if (m) {
      role = r;
      module = name.slice(0, m.index);
      break;
    }
  }
  if (role === undefined || role === 'ignore' || module === '') return undefined;
  let p = module.replace(/\./g, '_');
  // diffusers attention processors: `attn1.processor.to_q_lora` is `attn1.to_q`; `to_out_lora` is `to_out.0`.
  p = p.replace(/_processor_to_out$/, '_to_out_0').replace(/_processor_/, '_');
  if (p.startsWith('base_model_model_')) p = p.slice('base_model_model_'.length);
  let component = '';
  for (const [prefix, c] of COMPONENTS) {
    if (p.startsWith(prefix)) {
      component = c;
      p = p.slice(prefix.length);
      break;
    }
  }
  if (component === '') {
    if (p.startsWith('text_model_')) component = 'te1';
    else if (UNET_START.test(p)) component = 'unet';
    else component = 'x';
  }
  if ((component === 'te1' || component === 'te2') && /^(encoder|embeddings|final_layer_norm)_/.test(p)) {
    p = `text_model_${p}`;
  }
  if (component === 'unet') p = ldmToDiffusers(p);
  return { key: `${component}:${p}`, role };
}

/** FNV-1a, 32 bits: layer ids and projection seeds. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A layer's id: its canonical key and the update's shape (rows x fan-in), hashed. */
export function layerId(key: string, rows: number, fanIn: number): number {
  return fnv1a32(`${key}|${rows}x${fanIn}`);
}
