/**
 * @module scan/builtin
 * The built-in content types and extractors: one line each. Imported for its side effect by the
 * pipeline and by its worker threads.
 */
import { archiveSniffer } from './extractors/archive.js';
import { imageSniffer, pdqExtractor } from './extractors/image.js';
import { registerExtractor, registerSniffer } from './plugins.js';

registerSniffer(imageSniffer);
registerSniffer(archiveSniffer);

registerExtractor(pdqExtractor);
