/**
 * Ward: find, block and report known abuse material by its fingerprints. The public API.
 * @module ward
 */

export { detectSignal, sniffFormat } from './banks/formats/detect.js';
export { readBankFile } from './banks/formats/read.js';
export { writeBankFile } from './banks/formats/write.js';
// Banks: file formats, the store, and matching.
export type {
  Bank,
  BankFileFormat,
  BankKind,
  ColumnMapping,
  ExportEntry,
  ParsedEntry,
  ReadBankFileOptions,
  RowIssue,
} from './banks/types.js';
export { BANK_FILE_FORMATS } from './banks/types.js';
// Errors: one class, stable codes.
export { ERROR_CODES, type ErrorCode, type ErrorDetails, type ErrorKind, WardError } from './errors.js';
// Limits passed to every decoder.
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { LinearPdqIndex } from './match/linear.js';
export {
  Matcher,
  type MatcherOptions,
  type MatchHit,
  type MatchOptions,
  type MatchResult,
  type MatchSignals,
  signalsOf,
} from './match/matcher.js';
export { PdqIndex, type PdqIndexStats } from './match/pdq-index.js';
export type { HashIndex, IndexMatch } from './match/types.js';
export {
  type ArchiveEntry,
  type ArchiveFormat,
  type ArchiveLimits,
  DEFAULT_ARCHIVE_LIMITS,
  readArchive,
  sniffArchive,
} from './media/archive.js';
// Content sniffing.
export { type ImageFormat, sniffImage } from './media/sniff.js';
// The scan pipeline: items, extractor plugins, policy, verdicts, checkpoints.
export { Checkpoint } from './scan/checkpoint.js';
export {
  type BankAction,
  DEFAULT_SCAN_CONFIG,
  type FallbackAction,
  type FindingAction,
  loadScanConfig,
  type MatchConfig,
  type Policy,
  resolveScanConfig,
  type ScanConfig,
  type ScanLimits,
} from './scan/config.js';
export {
  type ErrorRecord,
  type HashFilesOptions,
  type HashRecord,
  hashFiles,
  isErrorRecord,
} from './scan/hash-files.js';
export { itemKey } from './scan/items.js';
export { type ScanOptions, scan } from './scan/pipeline.js';
export {
  type ExtractInput,
  type ExtractOptions,
  type ExtractOutput,
  type Extractor,
  registerExtractor,
  registerSniffer,
  type Sniffer,
  sniffContent,
} from './scan/plugins.js';
export { type Decision, decide, findingAction, type PolicyInput } from './scan/policy.js';
export {
  CONTENT_TYPES,
  type ContentType,
  type Finding,
  type ItemReport,
  type ItemSignals,
  REPORT_SCHEMA_VERSION,
  type Reason,
  SEVERITIES,
  type Severity,
  VERDICTS,
  type Verdict,
} from './scan/types.js';
export { BUILTIN_SIGNALS, getSignalType } from './signals/builtin.js';
// Hashing an image file or buffer (PDQ + MD5/SHA-1/SHA-256), and many files on worker threads.
export { type HashImageOptions, hashImage, type ImageHashes } from './signals/image.js';
export { DIHEDRAL_NAMES, type DihedralName } from './signals/pdq/dihedral.js';
export {
  hammingBytes,
  PDQ_MATCH_DISTANCE,
  PDQ_MIN_QUALITY,
  parsePdq,
  pdqDistance,
  pdqMatches,
  pdqToBytes,
} from './signals/pdq/distance.js';
// PDQ from pixels, distance helpers and conventions.
export {
  PDQ_PROFILES,
  type PdqOptions,
  type PdqProfile,
  type PdqResult,
  type PixelsInput,
  pdqFromPixels,
} from './signals/pdq/hash.js';
// Signal types (name, parse, brute-force compare).
export type { Comparison, SignalType } from './signals/types.js';
export { defaultDbPath, SqliteStore } from './store/sqlite.js';
export type { BankStats, BankStore, BankWithCounts, ImportOptions, ImportReport, StoredEntry } from './store/types.js';
export { VERSION } from './version.js';
