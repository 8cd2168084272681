/**
 * Provenance conformance on the real files in ../shared/fixtures/{genmeta,c2pa,watermarks}: every
 * file's generator, prompt, resources and hashes, C2PA source type and validity, and watermark bit
 * matches (equal to the reference decoder's counts in the watermark MANIFEST). Negative controls
 * must give no evidence. C2PA validity is checked as of 2026-11-01 (certificates expire); the
 * expected states agree with c2pa-rs (c2pa-node 0.5.5) given the same trust list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectImage, inspectMetadata } from '../../src/provenance/inspect.js';
import { modelName } from '../../src/provenance/resources.js';
import type { ProvenanceReport, Resource } from '../../src/provenance/types.js';
import { readManifest, SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';

const GENMETA = join(SHARED, 'fixtures', 'genmeta');
const C2PA = join(SHARED, 'fixtures', 'c2pa');
const WATERMARKS = join(SHARED, 'fixtures', 'watermarks');
const AT = new Date('2026-11-01T00:00:00Z');

const MIKU = 'general, masterpiece, best quality, amazing quality,';
const MIKU_NEG = 'bad quality, worst quality, worst detail, sketch, censor';
const WAI = { type: 'checkpoint', name: 'waiIllustriousSDXL_v160', hashes: { autov2: '45a21ea00a' } } as const;

interface Expect {
  ai: ProvenanceReport['aiGenerated'];
  generator?: RegExp;
  prompt?: string;
  negative?: string;
  /** Resources that must be present (name compared without folders and extension). */
  resources?: Partial<Resource>[];
  evidence?: string[];
}

const GENMETA_EXPECT: Record<string, Expect> = {
  'enslo_jpg_civitai-hires.jpg': {
    ai: 'yes',
    generator: /^Civitai/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', air: 'urn:air:sdxl:checkpoint:civitai:827184@2514310' }],
  },
  'enslo_jpg_civitai.jpeg': {
    ai: 'yes',
    generator: /^Civitai$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'WAI-illustrious-SDXL v16.0', civitaiVersionId: 2514310 }],
  },
  'enslo_jpg_comfyui-comfy-image-saver.jpeg': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: 'unknown',
    resources: [{ type: 'checkpoint', name: 'JANKUV5NSFWTrainedNoobai_v50', hashes: { autov2: '217daae812' } }],
  },
  'enslo_jpg_comfyui-save-image-extended.jpeg': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'waiIllustriousSDXL_v160' }],
  },
  'enslo_jpg_comfyui-saveimage-plus.jpg': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'waiIllustriousSDXL_v160' }],
  },
  'enslo_jpg_comfyui-saveimagewithmetadata.jpeg': {
    ai: 'yes',
    generator: /ComfyUI/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_jpg_empty.jpg': { ai: 'no-evidence' },
  'enslo_jpg_forge-classic.jpeg': {
    ai: 'yes',
    generator: /^Forge classic$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_jpg_gimp.jpg': { ai: 'no-evidence' },
  'enslo_jpg_reforge.jpeg': {
    ai: 'yes',
    generator: /^reForge f1\.0\.0v2/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_jpg_sd-next.jpg': { ai: 'yes', generator: /^SD\.Next/, prompt: MIKU, negative: MIKU_NEG, resources: [WAI] },
  'enslo_jpg_sd-webui.jpg': {
    ai: 'yes',
    generator: /^AUTOMATIC1111 v1\.10\.1$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_png_comfyui-saveimagewithmetadata.png': {
    ai: 'yes',
    generator: /ComfyUI/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_png_comfyui.png': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'waiIllustriousSDXL_v160' }],
  },
  'enslo_png_empty.png': { ai: 'no-evidence' },
  'enslo_png_forge-classic-adetailer.png': {
    ai: 'yes',
    generator: /^Forge classic$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'waiNSFWIllustrious_v140', hashes: { autov2: 'c9b4dab236' } }],
  },
  'enslo_png_forge-classic-en.png': {
    ai: 'yes',
    generator: /^Forge classic$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_png_gimp.png': { ai: 'no-evidence' },
  'enslo_png_invokeai.png': {
    ai: 'yes',
    generator: /^InvokeAI 6\.10/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [
      {
        type: 'checkpoint',
        name: 'waiIllustriousSDXL_v160',
        hashes: { blake3: '7c1631b481e1566448f49db7e3b67a8a9d04742fa3c7d4548a0c81b619160c56' },
      },
    ],
  },
  'enslo_png_novelai-full.png': {
    ai: 'yes',
    generator: /^NovelAI \(NovelAI Diffusion V4\.5/,
    prompt: '1girl, solo, hatsune miku',
    negative: 'nsfw, lowres',
    resources: [{ type: 'checkpoint', name: 'NovelAI Diffusion V4.5' }],
    evidence: ['generation-parameters', 'stealth-metadata'],
  },
  'enslo_png_ruined-fooocus.png': {
    ai: 'yes',
    generator: /^RuinedFooocus$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [
      {
        type: 'checkpoint',
        name: 'waiNSFWIllustrious_v150.safetensors',
        hashes: { sha256: 'befc694a296f75e996488ebf9f9db8a1493bd059b6e704b975829e87d5aeb4fa' },
      },
    ],
  },
  'enslo_png_sd-next.png': { ai: 'yes', generator: /^SD\.Next/, prompt: MIKU, negative: MIKU_NEG, resources: [WAI] },
  'enslo_png_sd-webui.png': {
    ai: 'yes',
    generator: /^AUTOMATIC1111 v1\.10\.1$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_png_swarmui.png': {
    ai: 'yes',
    generator: /^SwarmUI 0\.9\.7/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [
      {
        type: 'checkpoint',
        name: 'waiIllustriousSDXL_v160',
        hashes: { sha256: '22d8cb95b807b0c242576b676a12b07ae6b782b57ae4fe07a07254801b2d5d61' },
      },
    ],
  },
  'enslo_png_tensorart.png': {
    ai: 'yes',
    generator: /^TensorArt$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [
      {
        type: 'checkpoint',
        name: 'WAI-Nsfw-Illustrious-16',
        hashes: { sha256: 'a5f58eb1c33616c4f06bca55af39876a7b817913cd829caa8acb111b770c85cc' },
      },
      { type: 'checkpoint', name: 'EMS-1401459-EMS' },
    ],
  },
  'enslo_webp_comfyui-animated-webp.webp': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'waiIllustriousSDXL_v160' }],
  },
  'enslo_webp_comfyui-save-image-extended.webp': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [{ type: 'checkpoint', name: 'waiIllustriousSDXL_v160' }],
  },
  'enslo_webp_comfyui-saveimagewithmetadata.webp': {
    ai: 'yes',
    generator: /infotext/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_webp_empty.webp': { ai: 'no-evidence' },
  'enslo_webp_forge-classic.webp': {
    ai: 'yes',
    generator: /^Forge classic$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_webp_gimp.webp': { ai: 'no-evidence' },
  'enslo_webp_sd-webui.webp': {
    ai: 'yes',
    generator: /^AUTOMATIC1111 v1\.10\.1$/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [WAI],
  },
  'enslo_webp_swarmui.webp': {
    ai: 'yes',
    generator: /^SwarmUI 0\.9\.7/,
    prompt: MIKU,
    negative: MIKU_NEG,
    resources: [
      {
        type: 'checkpoint',
        name: 'waiIllustriousSDXL_v160.safetensors',
        hashes: { sha256: '22d8cb95b807b0c242576b676a12b07ae6b782b57ae4fe07a07254801b2d5d61' },
      },
    ],
  },
  'sdparsers_AUTOMATIC1111_automatic1111_cropped.jpg': {
    ai: 'yes',
    generator: /infotext/,
    prompt: 'photo of a duck',
    negative: 'monochrome',
    resources: [{ type: 'checkpoint', name: 'realistic_realisticVisionV20_v20', hashes: { autov2: 'c0d1994c73' } }],
  },
  'sdparsers_AUTOMATIC1111_automatic1111_cropped.png': {
    ai: 'yes',
    generator: /infotext/,
    prompt: 'photo of a duck',
    negative: 'monochrome',
    resources: [{ type: 'checkpoint', name: 'realistic_realisticVisionV20_v20', hashes: { autov2: 'c0d1994c73' } }],
  },
  'sdparsers_AUTOMATIC1111_automatic1111_stealth.png': {
    ai: 'yes',
    generator: /^AUTOMATIC1111 v1\.9\.4/,
    prompt: 'a circle',
    negative: 'a square',
    resources: [{ type: 'checkpoint', name: 'realisticVisionV51_v51VAE', hashes: { autov2: '15012c538f' } }],
    evidence: ['stealth-metadata'],
  },
  'sdparsers_ComfyUI_img2img_cropped.png': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: 'photograph of victorian woman with wings',
    negative: 'watermark, text',
    resources: [{ type: 'checkpoint', name: 'v1-5-pruned-emaonly' }],
  },
  'sdparsers_ComfyUI_night_evening_day_morning_cropped.png': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: '(masterpiece) (best quality) beautiful landscape',
    negative: '(hands), text, error',
    resources: [
      { type: 'checkpoint', name: 'Anything-V3.0' },
      { type: 'checkpoint', name: 'AbyssOrangeMix2_hard' },
      { type: 'vae', name: 'vae-ft-mse-840000-ema-pruned' },
    ],
  },
  'sdparsers_ComfyUI_noisy_latents_3_subjects_cropped.png': {
    ai: 'yes',
    generator: /^ComfyUI$/,
    prompt: 'girl (flat chest:0.9)',
    negative: '(hands), text, error',
    resources: [
      { type: 'checkpoint', name: 'Anything-V3.0' },
      { type: 'vae', name: 'vae-ft-mse-840000-ema-pruned' },
    ],
  },
  'sdparsers_Fooocus_fooocus1_cropped.png': {
    ai: 'yes',
    generator: /^Fooocus v2\.4\.3$/,
    prompt: 'a smiling goldfish',
    resources: [{ type: 'checkpoint', name: 'juggernautXL_v8Rundiffusion', hashes: { autov2: 'aeb7e9e689' } }],
  },
  'sdparsers_InvokeAI_invokeai_dream1.png': {
    ai: 'yes',
    generator: /^InvokeAI/,
    prompt: 'professional full body photo',
    negative: 'rendering, glowing eyes, skinny',
  },
  'sdparsers_InvokeAI_invokeai_sdmeta1.png': {
    ai: 'yes',
    generator: /^InvokeAI 2\.3\.0$/,
    prompt: 'professional full body photo',
    negative: 'rendering, glowing eyes, skinny',
    resources: [
      {
        type: 'checkpoint',
        name: 'deliberateForInvoke_v08',
        hashes: { sha256: '56d1442a0feefd64836a19ac8e3527ec71c884fc962e246ddf67b03e42921272' },
      },
    ],
  },
  'sdparsers_NovelAI_novelai1_cropped.png': {
    ai: 'yes',
    generator: /^NovelAI \(Stable Diffusion 1D44365E\)$/,
    prompt: 'masterpiece, best quality,  cat, space, icon',
    negative: 'lowres, bad anatomy',
  },
};

interface C2paExpect {
  state: string;
  generator?: string;
  dst: string[];
  ai: ProvenanceReport['aiGenerated'];
  agent?: string;
  remote?: string;
  softBinding?: string;
  codes?: string[];
}

const C2PA_EXPECT: Record<string, C2paExpect> = {
  'c2pars_CACAE-uri-CA_multi_manifest.jpg': {
    state: 'untrusted',
    generator: 'make_test_images/0.36.0 c2pa-rs/0.36.0',
    dst: ['algorithmicMedia'],
    ai: 'no-evidence',
  },
  'c2pars_C_algorithmicMedia.jpg': {
    state: 'untrusted',
    generator: 'make_test_images/0.33.1 c2pa-rs/0.33.1',
    dst: ['algorithmicMedia'],
    ai: 'no-evidence',
  },
  'c2pars_C_with_CAWG_digitalCapture.jpg': {
    state: 'untrusted',
    generator: 'c2pa cawg test 0.58.0',
    dst: ['digitalCapture'],
    ai: 'no-evidence',
  },
  // A sidecar: the hard binding needs the asset it belongs to, so it is not checked.
  'c2pars_cloud_manifest.c2pa': {
    state: 'untrusted',
    generator: 'TestApp c2patool/0.6.2 c2pa-rs/0.28.2',
    dst: [],
    ai: 'no-evidence',
    codes: ['ward.dataHash.notChecked'],
  },
  'c2pars_cloud_remote_manifest.jpg': {
    state: 'unverified',
    dst: [],
    ai: 'no-evidence',
    remote: 'https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391',
    codes: ['manifest.remote.notFetched'],
  },
  // c2pa-rs refuses it too (UnknownAlgorithm): the claim has no `alg`.
  'c2pars_no_alg_claim_v2.jpg': {
    state: 'unverified',
    generator: 'MIPAMS GENERATOR 0.1',
    dst: [],
    ai: 'no-evidence',
    codes: ['algorithm.unsupported'],
  },
  'c2pats_amazon_titan_g1.png': {
    state: 'untrusted',
    generator: 'Amazon_Bedrock c2pa-rs/0.32.7',
    dst: ['trainedAlgorithmicMedia'],
    ai: 'yes',
    agent: 'Titan Image Generator G1',
    codes: [
      'assertion.dataHash.match',
      'claimSignature.validated',
      'signingCredential.expired',
      'signingCredential.untrusted',
    ],
  },
  'enslo_chatgpt_gpt-image2.png': {
    state: 'valid',
    generator: 'OpenAI Media Service API',
    dst: ['trainedAlgorithmicMedia'],
    ai: 'yes',
    agent: 'gpt-image 2.0',
    codes: [
      'assertion.hashedURI.match',
      'assertion.dataHash.match',
      'claimSignature.validated',
      'signingCredential.trusted',
    ],
  },
  'trustmark_example_wm_signed.jpg': {
    state: 'untrusted',
    generator: 'python_trustmark/c2pa c2patool/0.7.0 c2pa-rs/0.28.5',
    dst: [],
    ai: 'no-evidence',
    softBinding: 'com.adobe.trustmark.Q',
  },
};

function expectResources(got: Resource[], want: Partial<Resource>[]): void {
  for (const w of want) {
    const hit = got.find(
      (r) =>
        r.type === w.type &&
        (w.name === undefined || modelName(r.name) === modelName(w.name)) &&
        (w.air === undefined || r.air === w.air) &&
        (w.civitaiVersionId === undefined || r.civitaiVersionId === w.civitaiVersionId),
    );
    expect(hit, `resource ${JSON.stringify(w)} in ${JSON.stringify(got)}`).toBeDefined();
    if (w.hashes) expect(hit?.hashes).toEqual(w.hashes);
  }
}

describe.skipIf(!sharedAvailable)(
  `provenance conformance (${sharedAvailable ? 'genmeta, c2pa, watermarks' : SKIP_REASON})`,
  () => {
    const genmeta = sharedAvailable ? readManifest(GENMETA) : [];
    // JUMBF_DUMPS.txt has a row of its own (documentation, not a fixture).
    const c2pa = sharedAvailable ? readManifest(C2PA).filter((r) => !(r.file as string).endsWith('.txt')) : [];
    const watermarks = sharedAvailable ? readManifest(WATERMARKS) : [];

    it('covers every file of the three manifests', () => {
      expect(genmeta.map((r) => r.file).sort()).toEqual(Object.keys(GENMETA_EXPECT).sort());
      expect(c2pa.map((r) => r.file).sort()).toEqual(Object.keys(C2PA_EXPECT).sort());
      expect(watermarks.length).toBe(10);
    });

    describe('genmeta', () => {
      for (const row of genmeta) {
        const file = row.file as string;
        it(`${file} (${row.generator})`, async () => {
          const want = GENMETA_EXPECT[file] as Expect;
          const r = await inspectImage(readFileSync(join(GENMETA, file)));
          expect(r.aiGenerated).toBe(want.ai);
          if (want.ai === 'no-evidence') {
            expect(r.evidence).toEqual([]);
            expect(r.resources).toEqual([]);
            expect(r.prompt).toBeUndefined();
            expect(r.generator).toBeUndefined();
            return;
          }
          expect(r.generator).toMatch(want.generator as RegExp);
          if (want.prompt !== undefined)
            expect(r.prompt?.startsWith(want.prompt), `prompt ${JSON.stringify(r.prompt)}`).toBe(true);
          if (want.negative !== undefined)
            expect(r.negativePrompt?.startsWith(want.negative), `negative ${JSON.stringify(r.negativePrompt)}`).toBe(
              true,
            );
          expectResources(r.resources, want.resources ?? []);
          for (const kind of want.evidence ?? []) expect(r.evidence.map((e) => e.kind)).toContain(kind);
          expect(r.issues).toBeUndefined();
          // Metadata-only inspection agrees, except for what hides in pixels.
          const meta = inspectMetadata(readFileSync(join(GENMETA, file)));
          if (!file.includes('stealth')) expect(meta.generator).toBe(r.generator);
        });
      }

      it('redacts prompts on request and keeps everything else', async () => {
        const bytes = readFileSync(join(GENMETA, 'enslo_png_sd-webui.png'));
        const r = await inspectImage(bytes, { redact: true, pixels: false });
        expect(r.prompt).toBeUndefined();
        expect(r.negativePrompt).toBeUndefined();
        expect(r.redacted).toBe(true);
        expect(JSON.stringify(r)).not.toContain('hatsune');
        expect(r.resources[0]?.hashes).toEqual({ autov2: '45a21ea00a' });
      });
    });

    describe('c2pa', () => {
      for (const row of c2pa) {
        const file = row.file as string;
        it(`${file}`, async () => {
          const want = C2PA_EXPECT[file] as C2paExpect;
          const r = await inspectImage(readFileSync(join(C2PA, file)), { validationTime: AT });
          expect(r.c2pa).toBeDefined();
          const c = r.c2pa as NonNullable<ProvenanceReport['c2pa']>;
          expect(c.validation.state).toBe(want.state);
          expect(c.claimGenerator).toBe(want.generator);
          expect(c.digitalSourceTypes).toEqual(want.dst);
          expect(r.aiGenerated).toBe(want.ai);
          if (want.agent) expect(r.generator).toBe(want.agent);
          if (want.remote) expect(c.remoteManifest).toBe(want.remote);
          if (want.softBinding) expect(c.softBindings).toContain(want.softBinding);
          for (const code of want.codes ?? []) expect(c.validation.codes).toContain(code);
          if (want.ai === 'no-evidence') expect(r.evidence).toEqual([]);
        });
      }

      it('reports the signer of a valid manifest', async () => {
        const r = await inspectImage(readFileSync(join(C2PA, 'enslo_chatgpt_gpt-image2.png')), {
          pixels: false,
          validationTime: AT,
        });
        expect(r.c2pa?.validation.signer).toMatchObject({
          commonName: 'OpenAI Media Service',
          organization: 'OpenAI OpCo, LLC',
          alg: 'ES256',
        });
        expect(r.c2pa?.actions.map((a) => a.action)).toEqual([
          'c2pa.created',
          'c2pa.converted',
          'c2pa.watermarked.unbound',
        ]);
      });

      it('calls a signer untrusted once the trust list is replaced', async () => {
        const r = await inspectImage(readFileSync(join(C2PA, 'enslo_chatgpt_gpt-image2.png')), {
          pixels: false,
          validationTime: AT,
          trustAnchors: [],
        });
        expect(r.c2pa?.validation.state).toBe('untrusted');
      });

      it('detects tampering: pixel data, an assertion, the signature', async () => {
        const original = readFileSync(join(C2PA, 'c2pars_C_algorithmicMedia.jpg'));
        const state = async (b: Buffer) =>
          (await inspectImage(b, { pixels: false, validationTime: AT })).c2pa?.validation;
        // A byte of the scan data (outside the excluded APP11 segment).
        const pixels = Buffer.from(original);
        pixels[pixels.length - 100] ^= 0x01;
        expect(await state(pixels)).toMatchObject({
          state: 'tampered',
          codes: expect.arrayContaining(['assertion.dataHash.mismatch']),
        });
        // A byte inside the actions assertion (its hashed URI no longer matches).
        const assertion = Buffer.from(original);
        const at = assertion.indexOf('Make Test Images');
        assertion[at] = 'N'.charCodeAt(0);
        expect(await state(assertion)).toMatchObject({
          state: 'tampered',
          codes: expect.arrayContaining(['assertion.hashedURI.mismatch']),
        });
        // A byte of the claim: the signature no longer verifies.
        const claim = Buffer.from(original);
        const c = claim.indexOf('make_test_images/0.33.1');
        claim[c] = 'M'.charCodeAt(0);
        expect(await state(claim)).toMatchObject({
          state: 'tampered',
          codes: expect.arrayContaining(['claimSignature.mismatch']),
        });
      });
    });

    describe('watermarks (bit matches equal the reference decoder)', () => {
      for (const row of watermarks) {
        const file = row.file as string;
        it(`${file}`, async () => {
          const r = await inspectImage(readFileSync(join(WATERMARKS, file)));
          const counts = ['decoded_match_sdxl48', 'decoded_match_sdv1_136', 'decoded_match_sdv2_32'].map((k) => row[k]);
          if (counts[0] === '-' || counts[0] === '') {
            // TrustMark (a neural watermark): too small for dwtDct, and no evidence.
            expect(r.watermark).toBeUndefined();
            expect(r.aiGenerated).toBe('no-evidence');
            return;
          }
          const scores = r.watermark?.scores ?? [];
          expect(scores.map((s) => `${s.matched}/${s.bits}`)).toEqual(counts);
          const message = row.embedded_message as string;
          if (message === 'none' || /attack/.test(message)) {
            expect(r.watermark?.detected).toBeUndefined();
            expect(r.aiGenerated).toBe('no-evidence');
          } else {
            const name = message.startsWith('SDXL') ? 'sdxl' : message.includes('StableDiffusionV1') ? 'sdv1' : 'sdv2';
            expect(r.watermark?.detected).toMatchObject({ name, confidence: 'yes' });
            expect(r.aiGenerated).toBe('yes');
          }
        });
      }
    });
  },
);
