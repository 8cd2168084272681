/**
 * @module scan/builtin
 * The built-in content types and extractors: one line each. Imported for its side effect by the
 * pipeline and by its worker threads.
 */

import { setTrainingTextScreener } from '../models/screen.js';
import { screenFindings } from '../text/screen.js';
import { archiveSniffer } from './extractors/archive.js';
import { classifierExtractor } from './extractors/classifier.js';
import { imageSniffer, pdqExtractor } from './extractors/image.js';
import { modelExtractor, modelSniffer } from './extractors/model.js';
import { provenanceExtractor } from './extractors/provenance.js';
import { textExtractor, textSniffer } from './extractors/text.js';
import { videoSniffer, vpdqExtractor } from './extractors/video.js';
import { registerExtractor, registerSniffer } from './plugins.js';

// Models first: PyTorch checkpoints are zips, and the archive sniffer would take them.
registerSniffer(modelSniffer, true);
registerSniffer(imageSniffer);
registerSniffer(archiveSniffer);
registerSniffer(videoSniffer); // after images: AVIF/HEIF share the ISO box header
registerSniffer(textSniffer); // last: any UTF-8 without binary control characters

// Provenance first: its metadata is read even when the pixels then fail to decode for PDQ.
registerExtractor(provenanceExtractor);
registerExtractor(pdqExtractor);
registerExtractor(classifierExtractor); // opt-in (scan config `classifiers`), after PDQ: same pixels
registerExtractor(modelExtractor);
registerExtractor(textExtractor);
registerExtractor(vpdqExtractor);

// Model training tags, titles and comments go to the text screener (src/text).
setTrainingTextScreener(screenFindings);
