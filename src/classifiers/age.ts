/**
 * @module classifiers/age
 * face-api's age estimate (@vladmandic/face-api: its TinyFaceDetector finds faces, its
 * age/gender head estimates an age per face; the weights ship in the package's `model/`), on
 * TensorFlow.js's WebAssembly backend, loaded once per thread on first use.
 *
 * A weak hint only: its authors give a mean error of 4.82 years for ages 9–18, it estimates
 * adults as teenagers (docs/classifiers.md), and it finds no face in much that has one. It never
 * says how old anyone is, and Ward never uses it for a verdict or for the review order.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WardError } from '../errors.js';
import type { DecodedImage } from '../media/image.js';
import { loadSharp } from '../media/image.js';
import { loadTf, runtimeOf, type Tf } from './tf.js';

/** Faces are looked for on the image scaled down to at most this many pixels on its long side. */
const MAX_SIDE = 1024;
/** TinyFaceDetector's input size and minimum face score. */
const DETECTOR = { inputSize: 416, scoreThreshold: 0.5 };
const MAX_FACES = 20;

export interface AgeEstimate {
  /** `face-api/age_gender_model` (faces found by `tiny_face_detector`). */
  model: string;
  /** The @vladmandic/face-api package version (the weights ship in it). */
  version: string;
  runtime: string;
  /** Faces found (at most 20, most confident first): the estimate, the detector's score, the box as fractions of the image. */
  faces: { age: number; detection: number; box: { x: number; y: number; width: number; height: number } }[];
}

interface FaceApi {
  nets: {
    tinyFaceDetector: { loadFromDisk(dir: string): Promise<void> };
    ageGenderNet: { loadFromDisk(dir: string): Promise<void> };
  };
  TinyFaceDetectorOptions: new (o: typeof DETECTOR) => unknown;
  detectAllFaces(
    input: unknown,
    options: unknown,
  ): {
    withAgeAndGender(): Promise<
      {
        age: number;
        detection: { score: number; relativeBox: { x: number; y: number; width: number; height: number } };
      }[]
    >;
  };
}

let engine: Promise<{ tf: Tf; api: FaceApi; version: string }> | undefined;

function loadEngine(): Promise<{ tf: Tf; api: FaceApi; version: string }> {
  engine ??= (async () => {
    const tf = await loadTf();
    try {
      const require = createRequire(import.meta.url);
      const root = dirname(require.resolve('@vladmandic/face-api/package.json'));
      // The build that uses the @tensorflow/tfjs and WebAssembly backend already loaded.
      const api = require(join(root, 'dist', 'face-api.node-wasm.js')) as FaceApi;
      const models = join(root, 'model');
      await api.nets.tinyFaceDetector.loadFromDisk(models);
      await api.nets.ageGenderNet.loadFromDisk(models);
      const version = String(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
      return { tf, api, version };
    } catch (cause) {
      engine = undefined;
      throw new WardError(
        'WARD_ERR_DEPENDENCY_MISSING',
        'Cannot load the age estimate (@vladmandic/face-api and its models)',
        { dependency: '@vladmandic/face-api' },
        cause,
      );
    }
  })();
  return engine;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** The faces face-api finds in decoded pixels, with an age estimate each. */
export async function estimateAges(image: DecodedImage): Promise<AgeEstimate> {
  const { tf, api, version } = await loadEngine();
  const sharp = await loadSharp();
  const scale = Math.min(1, MAX_SIDE / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const channels = image.channels as 1 | 2 | 3 | 4;
  const rgb = await sharp(image.data, { raw: { width: image.width, height: image.height, channels } })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const input = tf.tensor3d(Int32Array.from(rgb.data), [rgb.info.height, rgb.info.width, 3], 'int32');
  let found: Awaited<ReturnType<ReturnType<FaceApi['detectAllFaces']>['withAgeAndGender']>>;
  try {
    found = await api.detectAllFaces(input, new api.TinyFaceDetectorOptions(DETECTOR)).withAgeAndGender();
  } finally {
    input.dispose();
  }
  const faces = found
    .sort((a, b) => b.detection.score - a.detection.score)
    .slice(0, MAX_FACES)
    .map((f) => {
      const b = f.detection.relativeBox;
      return {
        age: Math.round(f.age * 10) / 10,
        detection: Math.round(f.detection.score * 100) / 100,
        box: { x: r3(b.x), y: r3(b.y), width: r3(b.width), height: r3(b.height) },
      };
    });
  return { model: 'face-api/age_gender_model', version, runtime: runtimeOf(tf), faces };
}
