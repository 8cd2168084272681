/**
 * @module scan/extractors/archive
 * Archives are containers: the pipeline expands them (scan/items.ts); this is only their sniffer.
 */
import { sniffArchive } from '../../media/archive.js';
import type { Sniffer } from '../plugins.js';

export const archiveSniffer: Sniffer = {
  contentType: 'archive',
  sniff: (head) => sniffArchive(head),
};
