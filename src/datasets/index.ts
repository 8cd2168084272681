/**
 * @module datasets
 * Dataset audit (`ward dataset audit`): readers, the per-shard audit, the removal list.
 */
export * from './audit.js';
export { cocoReader, imageFolderReader } from './folder.js';
export { DEFAULT_COLUMNS, hfParquetReader, laionReader } from './laion.js';
export * from './types.js';
export { webDatasetReader } from './webdataset.js';
