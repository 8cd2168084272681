/**
 * @module builtin
 * Ward's built-in plugin: every signal type, sniffer, extractor, inspector and reporter Ward ships with,
 * one line each. A new one is a file plus a line here (or a plugin of its own: docs/plugins.md).
 */
import { cocoReader, imageFolderReader } from './datasets/folder.js';
import { hfParquetReader, laionReader } from './datasets/laion.js';
import { webDatasetReader } from './datasets/webdataset.js';
import { fileConnector } from './exchanges/file.js';
import { ncmecConnector } from './exchanges/ncmec.js';
import { modelInspector } from './models/inspector.js';
import { definePlugin } from './plugin.js';
import { imageInspector } from './provenance/inspector.js';
import { ncaReporter, ncmecReporter } from './reporting/builtin.js';
import { archiveSniffer } from './scan/extractors/archive.js';
import { classifierExtractor } from './scan/extractors/classifier.js';
import { imageSniffer, pdqExtractor } from './scan/extractors/image.js';
import { modelExtractor, modelSniffer } from './scan/extractors/model.js';
import { provenanceExtractor } from './scan/extractors/provenance.js';
import { textExtractor, textSniffer } from './scan/extractors/text.js';
import { videoSniffer, vpdqExtractor } from './scan/extractors/video.js';
import { md5Signal, sha1Signal, sha256Signal } from './signals/crypto.js';
import { autov1Signal, autov2Signal, autov3Signal, blake3Signal } from './signals/model-hashes.js';
import { modelNameSignal, modelRefSignal } from './signals/model-refs.js';
import { pdqSignal } from './signals/pdq/signal.js';
import { tensorfpSignal } from './signals/tensorfp.js';
import { urlSha256Signal } from './signals/url.js';
import { screenFindings } from './text/screen.js';
import { VERSION } from './version.js';
import { vpdqSignal } from './video/signal.js';

export const builtinPlugin = definePlugin({
  name: 'ward',
  version: VERSION,
  signalTypes: [
    pdqSignal,
    md5Signal,
    sha1Signal,
    sha256Signal,
    autov1Signal,
    autov2Signal,
    autov3Signal,
    blake3Signal,
    vpdqSignal,
    urlSha256Signal,
    modelNameSignal,
    modelRefSignal,
    tensorfpSignal,
  ],
  sniffers: [
    // Models first: PyTorch checkpoints are zips, and the archive sniffer would take them.
    { ...modelSniffer, name: 'model', order: 0 },
    { ...imageSniffer, name: 'image', order: 10 },
    { ...archiveSniffer, name: 'archive', order: 20 },
    // After images: AVIF/HEIF share the ISO box header.
    { ...videoSniffer, name: 'video', order: 30 },
    // Last: any UTF-8 without binary control characters.
    { ...textSniffer, name: 'text', order: 100 },
  ],
  // Provenance first: its metadata is read even when the pixels then fail to decode for PDQ.
  // The classifiers are opt-in (scan config `classifiers`), after PDQ: the same decoded pixels.
  extractors: [provenanceExtractor, pdqExtractor, classifierExtractor, modelExtractor, textExtractor, vpdqExtractor],
  inspectors: [modelInspector, imageInspector],
  // Hash exchanges (src/exchanges): `ward exchange add --type <name>`.
  exchanges: [ncmecConnector, fileConnector],
  // `ward dataset audit` (src/datasets): the one whose detect() answers highest reads a dataset.
  datasetReaders: [laionReader, webDatasetReader, hfParquetReader, imageFolderReader, cocoReader],
  // Report destinations (docs/reporting.md): the CyberTipline and the UK NCA export.
  reporters: [ncmecReporter, ncaReporter],
  // Model training tags, titles and comments, and image prompts, go to the text screener (src/text).
  screeners: {
    trainingText: screenFindings,
    prompt: (pair, source) => screenFindings(pair, 'prompt', source),
  },
});
