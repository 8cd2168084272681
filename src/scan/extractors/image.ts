/**
 * @module scan/extractors/image
 * Images: decode once (sharp, the reference's choices) and compute PDQ with its quality, and the
 * dihedral set when asked. MD5/SHA-1/SHA-256 are computed by the pipeline for every item.
 */
import { decodeImageOnce } from '../../media/decode-once.js';
import { DECODABLE_IMAGE_FORMATS, type ImageFormat, sniffImage } from '../../media/sniff.js';
import { pdqFromPixels } from '../../signals/pdq/hash.js';
import type { Extractor, Sniffer } from '../plugins.js';

export const imageSniffer: Sniffer = {
  contentType: 'image',
  sniff: (head) => sniffImage(head),
};

export const pdqExtractor: Extractor = {
  name: 'pdq',
  contentTypes: ['image'],
  async extract({ bytes, format, limits, options }) {
    // BMP and other formats libvips cannot read are images Ward recognises but cannot hash.
    if (format !== undefined && !DECODABLE_IMAGE_FORMATS.has(format as ImageFormat))
      return { unsupported: `${format} images cannot be decoded` };
    const image = await decodeImageOnce(bytes, limits); // shared with the provenance extractor
    const pdq = pdqFromPixels(image, { dihedral: options.dihedral });
    return {
      signals: { pdq: pdq.hash, quality: pdq.quality, ...(pdq.dihedral ? { pdqDihedral: pdq.dihedral } : {}) },
      media: { width: image.width, height: image.height },
    };
  },
};
