// Benchmark for the weight fingerprint (issue 20): what tensorfp adds to `ward inspect`.
// Run with `npm run build` then `node bench/tensorfp.js`. Generates into bench/.data/tensorfp/
// (git-ignored): a ~150 MB SD 1.5 LoRA (kohya names, fp16, 264 layers, rank chosen to fill the
// size) as safetensors and as a PyTorch zip checkpoint, and a ~2 GB fp16 checkpoint
// (BENCH_CKPT_BYTES overrides; SD 1.5 layer names, the LoRA-targeted layers at full size plus
// 1280-wide 3x3 convolutions to fill it). Each file is read once to warm the page cache, then, in
// BENCH_ROUNDS interleaved rounds (default 5; 3 for the checkpoint), inspectModel with the
// identity hashes alone (tensorfp: false, the baseline) and with the fingerprint (the default),
// same options otherwise. Reports median wall times and the median of the per-round ratios.
// Fails if the fingerprint differs between rounds.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storedZip } from '../dist/demo/archives.js';
import { inspectModel } from '../dist/models/inspect.js';

const here = dirname(fileURLToPath(import.meta.url));
const DIR = join(here, '.data', 'tensorfp');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CKPT_BYTES = Number(process.env.BENCH_CKPT_BYTES ?? 2_000_000_000);
const LORA_BYTES = 150_000_000;

/** SD 1.5's LoRA-targeted layers: [kohya module, ldm weight name, out, in]. */
function layers() {
  const out = [];
  const blocks = [];
  for (const [i, d] of [320, 640, 1280].entries())
    for (const j of [0, 1]) blocks.push([`down_blocks_${i}_attentions_${j}`, `input_blocks.${3 * i + j + 1}.1`, d]);
  blocks.push(['mid_block_attentions_0', 'middle_block.1', 1280]);
  for (const [i, d] of [1280, 640, 320].entries())
    for (const j of [0, 1, 2])
      blocks.push([`up_blocks_${i + 1}_attentions_${j}`, `output_blocks.${3 * (i + 1) + j}.1`, d]);
  for (const [k, l, d] of blocks) {
    const t = 'transformer_blocks_0';
    const lt = 'transformer_blocks.0';
    for (const [a, b, o, i] of [
      ['proj_in', 'proj_in', d, d],
      [`${t}_attn1_to_q`, `${lt}.attn1.to_q`, d, d],
      [`${t}_attn1_to_k`, `${lt}.attn1.to_k`, d, d],
      [`${t}_attn1_to_v`, `${lt}.attn1.to_v`, d, d],
      [`${t}_attn1_to_out_0`, `${lt}.attn1.to_out.0`, d, d],
      [`${t}_attn2_to_q`, `${lt}.attn2.to_q`, d, d],
      [`${t}_attn2_to_k`, `${lt}.attn2.to_k`, d, 768],
      [`${t}_attn2_to_v`, `${lt}.attn2.to_v`, d, 768],
      [`${t}_attn2_to_out_0`, `${lt}.attn2.to_out.0`, d, d],
      [`${t}_ff_net_0_proj`, `${lt}.ff.net.0.proj`, 8 * d, d],
      [`${t}_ff_net_2`, `${lt}.ff.net.2`, d, 4 * d],
      ['proj_out', 'proj_out', d, d],
    ])
      out.push([`lora_unet_${k}_${a}`, `model.diffusion_model.${l}.${b}.weight`, o, i]);
  }
  for (let n = 0; n < 12; n++) {
    for (const [p, o, i] of [
      ['self_attn_q_proj', 768, 768],
      ['self_attn_k_proj', 768, 768],
      ['self_attn_v_proj', 768, 768],
      ['self_attn_out_proj', 768, 768],
      ['mlp_fc1', 3072, 768],
      ['mlp_fc2', 768, 3072],
    ])
      out.push([
        `lora_te_text_model_encoder_layers_${n}_${p}`,
        `cond_stage_model.transformer.text_model.encoder.layers.${n}.${p.replace('self_attn_', 'self_attn.').replace('mlp_', 'mlp.')}.weight`,
        o,
        i,
      ]);
  }
  return out;
}

/** 16 MiB of valid fp16 values (|x| in [2^-10, 2^-1)), pseudo-random. */
function block() {
  const b = Buffer.alloc(16 * 1024 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < b.length; i += 2) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const exp = 5 + ((x >>> 10) % 9);
    b.writeUInt16LE(((x >>> 31) << 15) | (exp << 10) | (x & 0x3ff), i);
  }
  return b;
}

/** Writes a safetensors file of [name, shape] F16 tensors, filled from `data` (cycled). */
function writeSafetensors(file, tensors, data) {
  const header = { __metadata__: { ss_network_module: 'networks.lora', ss_output_name: 'bench' } };
  let off = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, d) => a * d, 1) * 2;
    header[name] = { dtype: 'F16', shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const fd = openSync(`${file}.tmp`, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeSync(fd, len);
  writeSync(fd, json);
  for (let done = 0; done < off; ) {
    const n = Math.min(data.length, off - done);
    writeSync(fd, data, 0, n);
    done += n;
  }
  closeSync(fd);
  renameSync(`${file}.tmp`, file);
}

function loraTensors() {
  const ls = layers();
  const perRank = ls.reduce((a, [, , o, i]) => a + (o + i) * 2, 0);
  const rank = Math.max(1, Math.round(LORA_BYTES / perRank));
  const t = [];
  for (const [k, , o, i] of ls) {
    t.push([`${k}.alpha`, []]);
    t.push([`${k}.lora_down.weight`, [rank, i]]);
    t.push([`${k}.lora_up.weight`, [o, rank]]);
  }
  return { tensors: t.sort((a, b) => (a[0] < b[0] ? -1 : 1)), rank };
}

function ckptTensors() {
  const t = layers().map(([, name, o, i]) => [name, /proj_(in|out)\.weight$/.test(name) ? [o, i, 1, 1] : [o, i]]);
  let bytes = t.reduce((a, [, s]) => a + s.reduce((x, d) => x * d, 1) * 2, 0);
  const conv = 1280 * 1280 * 9 * 2;
  for (let n = 0; bytes + conv <= CKPT_BYTES; n++) {
    t.push([`model.diffusion_model.output_blocks.${n % 12}.0.conv_${n}.weight`, [1280, 1280, 3, 3]]);
    bytes += conv;
  }
  return t;
}

/** A PyTorch zip of the same tensors (stored storages; the pickle names them, never loaded). */
function torchZip(tensors, data) {
  const X = (s) => {
    const b = Buffer.from(s);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return Buffer.concat([Buffer.from('X'), n, b]);
  };
  const I = (v) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(v, 1);
    return b;
  };
  const tuple = (xs) => Buffer.concat([Buffer.from('('), ...xs.map(I), Buffer.from('t')]);
  const parts = [Buffer.from([0x80, 2]), Buffer.from('ccollections\nOrderedDict\n)R(')];
  const storages = [];
  for (const [i, [name, shape]] of tensors.entries()) {
    const numel = shape.reduce((a, d) => a * d, 1);
    const stride = shape.map((_, d) => shape.slice(d + 1).reduce((a, x) => a * x, 1));
    parts.push(
      X(name),
      Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n(('),
      X('storage'),
      Buffer.from('ctorch\nHalfStorage\n'),
      X(String(i)),
      X('cpu'),
      I(numel),
      Buffer.from('tQ'),
      I(0),
      tuple(shape),
      tuple(stride),
      Buffer.from([0x89]),
      Buffer.from('ccollections\nOrderedDict\n)RtR'),
    );
    const bytes = Buffer.alloc(numel * 2);
    for (let o = 0; o < bytes.length; o += data.length) data.copy(bytes, o, 0, Math.min(data.length, bytes.length - o));
    storages.push({ name: `archive/data/${i}`, bytes });
  }
  parts.push(Buffer.from('u.'));
  return storedZip([{ name: 'archive/data.pkl', bytes: Buffer.concat(parts) }, ...storages]);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(label, file, rounds) {
  readFileSync(file); // warm the page cache
  const size = statSync(file).size;
  const base = [];
  const withFp = [];
  const ratios = [];
  let value;
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first.
    const order = r % 2 === 0 ? ['base', 'fp'] : ['fp', 'base'];
    const t = {};
    for (const which of order) {
      const start = process.hrtime.bigint();
      const rep = await inspectModel(file, { screener: null, tensorfp: which === 'fp' });
      t[which] = Number(process.hrtime.bigint() - start) / 1e6;
      if (which === 'fp') {
        if (!rep.tensorfp?.value) throw new Error(`${label}: no fingerprint`);
        if (value !== undefined && value !== rep.tensorfp.value) throw new Error(`${label}: fingerprint differs`);
        value = rep.tensorfp.value;
        if (r === 0)
          console.log(
            `  ${label}: layers ${JSON.stringify(rep.tensorfp.layers)}${rep.tensorfp.skipped ? ` skipped ${rep.tensorfp.skipped}` : ''}`,
          );
      }
    }
    base.push(t.base);
    withFp.push(t.fp);
    ratios.push(t.fp / t.base);
    console.log(
      `  round ${r + 1}: hashes ${t.base.toFixed(0)} ms, hashes + tensorfp ${t.fp.toFixed(0)} ms (x${(t.fp / t.base).toFixed(3)})`,
    );
  }
  console.log(
    `${label} (${(size / 1e6).toFixed(0)} MB): median hashes ${median(base).toFixed(0)} ms, with tensorfp ${median(withFp).toFixed(0)} ms, median ratio x${median(ratios).toFixed(3)} (+${((median(ratios) - 1) * 100).toFixed(1)}%)`,
  );
}

mkdirSync(DIR, { recursive: true });
const data = block();
const { tensors: lt, rank } = loraTensors();
const loraFile = join(DIR, `lora-r${rank}.safetensors`);
if (!existsSync(loraFile)) writeSafetensors(loraFile, lt, data);
const loraCkpt = join(DIR, `lora-r${rank}.ckpt`);
if (!existsSync(loraCkpt)) {
  const z = torchZip(lt, data);
  const fd = openSync(loraCkpt, 'w');
  writeSync(fd, z);
  closeSync(fd);
}
const ckptFile = join(DIR, `checkpoint-${CKPT_BYTES}.safetensors`);
if (!existsSync(ckptFile)) writeSafetensors(ckptFile, ckptTensors(), data);

console.log(`tensorfp benchmark, ${ROUNDS} rounds (checkpoint: ${Math.min(ROUNDS, 3)}), interleaved`);
const only = process.env.BENCH_ONLY;
if (!only || only === 'lora') await measure(`LoRA rank ${rank} safetensors`, loraFile, ROUNDS);
if (!only || only === 'lora-ckpt') await measure(`LoRA rank ${rank} PyTorch zip`, loraCkpt, ROUNDS);
if (!only || only === 'ckpt') await measure('checkpoint fp16 safetensors', ckptFile, Math.min(ROUNDS, 3));
