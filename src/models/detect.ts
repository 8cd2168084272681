/**
 * @module models/detect
 * What a model is (its kind and, for LoRA-like files, the algorithm) and what it was made from
 * (its base model family), from its metadata first and its tensor names and shapes otherwise.
 *
 * Kinds: `checkpoint` (a full model or a pipeline component such as a UNet), `lora` (LoRA for an
 * image model: kohya, diffusers), `lycoris` (LyCORIS: LoKr, LoHa, IA3, OFT, GLoRA, full),
 * `embedding` (textual inversion), `vae`, `controlnet`, `adapter` (PEFT adapters, GGUF adapters),
 * `llm` (a language model), `unknown`.
 * Base model families: `sd1`, `sd2`, `sdxl`, `sd3`, `flux`, `llama` (Llama-style decoder
 * layers: Llama, Mistral, Qwen...), a GGUF `general.architecture`, or null when nothing says.
 */

export type ModelKind =
  | 'checkpoint'
  | 'lora'
  | 'lycoris'
  | 'embedding'
  | 'vae'
  | 'controlnet'
  | 'adapter'
  | 'llm'
  | 'unknown';

export interface Detection {
  kind: ModelKind;
  /** The adapter algorithm (lora, locon, lokr, loha, ia3, oft, glora, dylora, full) where known. */
  variant?: string;
  baseModel: string | null;
}

export interface DetectInput {
  /** Tensor names (or, for pickles, the short strings of the state dict's keys). */
  names: readonly string[];
  shapeOf?: (name: string) => readonly number[] | undefined;
  /** String metadata (safetensors `__metadata__`; kohya `ss_*`, `modelspec.*`). */
  metadata?: Readonly<Record<string, string>>;
}

const LYCORIS_MARKERS: [RegExp, string][] = [
  [/\.lokr_(w1|w2|t2)/, 'lokr'],
  [/\.hada_(w1|w2|t1|t2)/, 'loha'],
  [/\.on_input$/, 'ia3'],
  [/\.(oft_blocks|oft_diag|boft_blocks)$/, 'oft'],
  [/\.(a1|a2|b1|b2)\.weight$/, 'glora'],
  [/\.diff(_b)?$/, 'full'],
];

function some(names: readonly string[], re: RegExp): boolean {
  return names.some((n) => re.test(n));
}

function find(names: readonly string[], re: RegExp): string | undefined {
  return names.find((n) => re.test(n));
}

/** Base family from kohya / ModelSpec metadata, when it says. */
function baseFromMetadata(md: Readonly<Record<string, string>>): string | null {
  const arch = (md['modelspec.architecture'] ?? '').toLowerCase();
  if (arch) {
    if (arch.startsWith('stable-diffusion-xl')) return 'sdxl';
    if (arch.startsWith('stable-diffusion-v1')) return 'sd1';
    if (arch.startsWith('stable-diffusion-v2')) return 'sd2';
    if (arch.startsWith('stable-diffusion-3')) return 'sd3';
    if (arch.startsWith('flux')) return 'flux';
  }
  const v = (md.ss_base_model_version ?? '').toLowerCase();
  if (v) {
    if (v.startsWith('sdxl')) return 'sdxl';
    if (v.startsWith('sd_v1')) return 'sd1';
    if (v.startsWith('sd_v2')) return 'sd2';
    if (v.startsWith('sd3')) return 'sd3';
    if (v.startsWith('flux')) return 'flux';
    return v;
  }
  if (md.ss_v2 === 'True') return 'sd2';
  return null;
}

/** Base family of a Stable Diffusion-like file from the text-conditioning width of a cross-attention key. */
function sdByCrossAttention(names: readonly string[], shapeOf: DetectInput['shapeOf']): string | null {
  if (!shapeOf) return null;
  const key =
    find(names, /attn2[._](processor\.)?to_k(_lora)?[._](lora[._])?(down|lora_down|lora_A)[._]weight$/) ??
    find(names, /attn2\.to_k\.weight$/);
  if (!key) return null;
  const shape = shapeOf(key);
  const width = shape?.[shape.length - 1];
  if (width === 768) return 'sd1';
  if (width === 1024) return 'sd2';
  if (width === 2048) return 'sdxl';
  return null;
}

/** Base family from tensor names (and shapes where needed). */
function baseFromNames(names: readonly string[], shapeOf: DetectInput['shapeOf']): string | null {
  if (some(names, /(^|[._])(double_blocks|single_blocks|single_transformer_blocks)[._]/)) return 'flux';
  if (some(names, /(^|[._])joint_blocks[._]/)) return 'sd3';
  if (
    some(names, /^(lora_te1_|lora_te2_|conditioner\.embedders\.|text_encoder_2\.)/) ||
    some(names, /^lora_unet_(input|output)_blocks_/)
  ) {
    return 'sdxl';
  }
  if (some(names, /^(model\.layers\.|base_model\.model\.model\.layers\.|model\.model\.layers\.)\d+\.(self_attn|mlp)\./))
    return 'llama';
  if (some(names, /^cond_stage_model\.model\./)) return 'sd2';
  const byWidth = sdByCrossAttention(names, shapeOf);
  if (byWidth) return byWidth;
  if (
    some(
      names,
      /^(lora_unet_down_blocks_|lora_te_text_model_|cond_stage_model\.transformer\.|model\.diffusion_model\.input_blocks\.)/,
    )
  ) {
    return 'sd1';
  }
  return null;
}

/** Kind, variant and base family of a model from its tensor names and metadata. */
export function detectModel(input: DetectInput): Detection {
  const names = input.names;
  const md = input.metadata ?? {};
  let base = baseFromMetadata(md) ?? baseFromNames(names, input.shapeOf);
  const module = md.ss_network_module ?? '';
  let algo: string | undefined;
  const args = md.ss_network_args;
  if (args) {
    const m = /"algo"\s*:\s*"([a-z_]+)"/i.exec(args);
    if (m) algo = (m[1] as string).toLowerCase();
  }
  // PEFT adapters (LLM LoRA and the like): `base_model.model.` prefixes, lora_A/lora_B.
  if (some(names, /^base_model\.model\./) && some(names, /\.lora_[AB]\.weight$|\.lora_embedding_[AB]$/)) {
    return { kind: 'adapter', variant: 'lora', baseModel: base };
  }
  // LyCORIS: by the network module or the algorithms' tensor names.
  const marker = LYCORIS_MARKERS.find(([re]) => some(names, re));
  if (module.startsWith('lycoris') || marker) {
    return { kind: 'lycoris', variant: algo ?? marker?.[1] ?? 'locon', baseModel: base };
  }
  const loraKeys = some(
    names,
    /(\.lora_(down|up|mid)\.weight|[._]lora[._](down|up)\.weight|\.lora_[AB]\.weight|_lora\.(down|up)\.weight)$/,
  );
  if (loraKeys || module.startsWith('networks.lora') || module.startsWith('networks.dylora')) {
    const variant = module.startsWith('networks.dylora')
      ? 'dylora'
      : some(names, /\.lora_mid\.weight$/) || /conv_dim/.test(args ?? '')
        ? 'locon'
        : 'lora';
    return { kind: 'lora', variant, baseModel: base };
  }
  // Textual inversion embeddings.
  if (
    names.length > 0 &&
    names.every((n) => /^(emb_params|clip_l|clip_g|string_to_param(\.\*)?|string_to_token)$/.test(n))
  ) {
    if (!base && input.shapeOf) {
      const w = input.shapeOf(names.includes('emb_params') ? 'emb_params' : (names[0] as string));
      const width = w?.[w.length - 1];
      base = names.includes('clip_g') ? 'sdxl' : width === 768 ? 'sd1' : width === 1024 ? 'sd2' : null;
    }
    return { kind: 'embedding', baseModel: base };
  }
  if (some(names, /^(control_model\.|controlnet_|input_hint_block\.)|\.(zero_convs|input_hint_block)\./)) {
    return { kind: 'controlnet', baseModel: base };
  }
  const diffusion = some(
    names,
    /^(model\.diffusion_model\.|down_blocks\.\d+\.(resnets|attentions)\.|double_blocks\.|joint_blocks\.|transformer_blocks\.)/,
  );
  const vae = some(names, /^(encoder\.(down|conv_in|down_blocks)|decoder\.(up|conv_out|up_blocks)|post_quant_conv\.)/);
  if (vae && !diffusion) return { kind: 'vae', baseModel: base };
  if (diffusion) return { kind: 'checkpoint', baseModel: base };
  if (some(names, /^(model\.layers\.\d+\.|lm_head\.|model\.embed_tokens\.|transformer\.h\.\d+\.|gpt_neox\.layers\.)/)) {
    return { kind: 'llm', baseModel: base };
  }
  return { kind: 'unknown', baseModel: base };
}
