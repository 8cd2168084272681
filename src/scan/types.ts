/**
 * @module scan/types
 * The scan report's vocabulary, which lives in src/item.ts (below every area); re-exported here
 * for the modules and users that import it from the scan pipeline.
 */
export * from '../item.js';
