/**
 * Ward: find, block and report known abuse material by its fingerprints. The public API.
 * @module ward
 */

// The service's pieces that stand alone: verifying its webhooks, its audit chain, the stores'
// types. The service itself is `ward/server` (src/server/index.ts).
export { AUDIT_GENESIS, type AuditVerification, auditHash, canonicalJson, verifyAuditChain } from './audit/chain.js';
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
// Plugins: the manifest, the registry everything asks, and the built-in plugin.
export { builtinPlugin } from './builtin.js';
// Dataset audit (`ward dataset audit`, docs/datasets.md): readers, one shard, whole datasets, removal lists.
export {
  type AuditCheckpoint,
  type AuditOptions,
  type AuditRecord as DatasetAuditRecord,
  auditDatasets,
  auditShard,
  chooseReader,
  type DatasetRowReport,
  type DatasetSummary,
  type FinishedShard,
  type NeighboursReport,
  REMOVAL_COLUMNS,
  type RemovalLine,
  type RowMatch,
  removalLine,
  type ShardAuditOptions,
} from './datasets/audit.js';
export { DatasetCheckpoint } from './datasets/checkpoint.js';
export { cocoReader, imageFolderReader } from './datasets/folder.js';
export { hfParquetReader, laionReader } from './datasets/laion.js';
export type {
  ColumnMap,
  DatasetReader,
  DatasetRow,
  DatasetShard,
  DetectInput,
  RowReadOptions,
} from './datasets/types.js';
export { webDatasetReader } from './datasets/webdataset.js';
// Errors: one class, stable codes.
export { ERROR_CODES, type ErrorCode, type ErrorDetails, type ErrorKind, WardError } from './errors.js';
export type { ExchangeConnector } from './exchanges/types.js';
export type { InspectContext, Inspector } from './inspect/types.js';
// Limits passed to every decoder.
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { CompactExactIndex, type CompactExactStats, compactExactIndexKind } from './match/compact-exact-index.js';
export { ExactIndex, exactIndexKind, isPrefixQuery, type PrefixQuery } from './match/exact-index.js';
export { LinearPdqIndex } from './match/linear.js';
export { LinearSignalIndex, linearIndexKind } from './match/linear-index.js';
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
export { PdqSignalIndex, pdqIndexKind } from './match/pdq-signal-index.js';
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
// Models: inspection (formats, kind, base model, training metadata), identity hashes, pickle verdicts.
export { type Detection, detectModel, type ModelKind } from './models/detect.js';
export { type GgufInfo, type GgufTensor, readGguf } from './models/gguf.js';
export { civitaiCrc32Hex } from './models/hashers.js';
export {
  type FileDigests,
  type HashModelOptions,
  hashModelBytes,
  hashModelFile,
  type ModelHashes,
} from './models/hashes.js';
export {
  type InspectOptions,
  inspectModel,
  inspectModelBytes,
  MODEL_FORMATS,
  type ModelFormat,
  type ModelReport,
  type PickleSummary,
  sniffModel,
} from './models/inspect.js';
export { DEFAULT_MODEL_LIMITS, type ModelLimits } from './models/limits.js';
export { type PickleGlobal, type PickleIssue, type PickleScan, walkPickle } from './models/pickle.js';
export { PICKLE_ALLOW, PICKLE_DENY, type PickleRating, rateGlobal } from './models/pickle-policy.js';
export { readSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensor } from './models/safetensors.js';
export {
  setTrainingTextScreener,
  type TagCounts,
  type TrainingTextContext,
  type TrainingTextScreener,
} from './models/screen.js';
export {
  compareFingerprints,
  decodeBase,
  encodeBase,
  type FingerprintComparison,
  type FingerprintResult,
  parseFingerprint,
  type TensorBase,
  TensorFingerprinter,
  type TensorRef,
} from './models/tensorfp.js';
export { canonicalLayer } from './models/tensorfp-names.js';
export { type TrainingInfo, trainingInfo } from './models/training.js';
// The one egress point (every outbound request) and secrets at rest.
export {
  checkEgressUrl,
  EgressAllowList,
  type EgressInit,
  type EgressResponse,
  egressFetch,
  isSpecialAddress,
  redactUrl,
} from './net/egress.js';
export { definePlugin, type PluginSniffer, type WardPlugin } from './plugin.js';
// Provenance: AI-generation metadata, C2PA, XMP digital source type, stealth metadata, the SD watermark.
export type { C2paAction, C2paSummary } from './provenance/c2pa/manifest.js';
export { C2PA_TRUST_ANCHORS } from './provenance/c2pa/trust-anchors.js';
export type { C2paState, C2paValidation } from './provenance/c2pa/validate.js';
export { type GenericResult, keyValueBlock, readGeneric } from './provenance/generic.js';
export {
  type InspectOptions as ProvenanceInspectOptions,
  inspectImage,
  inspectMetadata,
  resourceHashSignals,
  resourceSignals,
} from './provenance/inspect.js';
export { DEFAULT_METADATA_LIMITS, type MetadataLimits } from './provenance/metadata.js';
export { type PromptScreener, setPromptScreener } from './provenance/prompt-screen.js';
export { applyResourceMatches, matchResourceHashes, RESOURCE_HASH_TYPES } from './provenance/resource-match.js';
export type {
  AiGenerated,
  Evidence,
  EvidenceKind,
  MetadataIssue,
  ProvenanceReport,
  Resource,
  ResourceHashes,
  ResourceType,
} from './provenance/types.js';
export {
  decodeSdWatermark,
  SD_WATERMARKS,
  type WatermarkMessage,
  type WatermarkResult,
  type WatermarkScore,
} from './provenance/watermark.js';
export {
  findReferences,
  MAX_REFERENCES,
  mergeReferenceSignals,
  type Reference,
  type ReferenceKind,
  ReferenceScanner,
  type ReferenceSignal,
  type ReferenceSignals,
  referenceFindings,
  referenceSignals,
  referencesOf,
} from './references/index.js';
export {
  activeRegistry,
  importPlugins,
  loadRegistry,
  Registry,
  registerExtractor,
  registerInspector,
  registerSniffer,
  resolvePluginSpecifier,
  setActiveRegistry,
  sniffContent,
  usePlugins,
} from './registry.js';
// Reporting: the CyberTipline builder, validation, client and durable submission; the NCA export.
export { buildNcaExport, NCA_PRIORITIES, recordNcaReference, writeNcaExport } from './reporting/nca/export.js';
export {
  type BuildOptions,
  buildNcmecReport,
  parseReporterProfile,
  type ReporterProfile,
  type ReportFile,
  reportFileOf,
} from './reporting/ncmec/builder.js';
export { NCMEC_PRODUCTION, NCMEC_TEST, NcmecClient } from './reporting/ncmec/client.js';
export {
  createNcmecReport,
  retractNcmecReport,
  runNcmecReport,
  type SubmitContext,
} from './reporting/ncmec/submit.js';
export { validateBuilt, validateXml } from './reporting/ncmec/validate.js';
export { retentionOf, setLegalHold } from './reporting/preservation.js';
export type { Reporter, ReporterContext } from './reporting/types.js';
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
export { modelExtractor, modelSniffer } from './scan/extractors/model.js';
export { provenanceExtractor } from './scan/extractors/provenance.js';
// Text screening: prompts, negative prompts, captions, tag maps, titles, posts.
export { sniffText, textExtractor, textSniffer } from './scan/extractors/text.js';
export {
  type ErrorRecord,
  type HashFilesOptions,
  type HashRecord,
  hashFiles,
  isErrorRecord,
} from './scan/hash-files.js';
export { itemKey } from './scan/items.js';
export {
  createScanRunner,
  type ItemMatcher,
  type ScanBytesOptions,
  type ScannedItem,
  type ScanOptions,
  scan,
  scanBytes,
} from './scan/pipeline.js';
export type {
  ExtractInput,
  ExtractOptions,
  ExtractOutput,
  Extractor,
  FileExtractInput,
  Sniffer,
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
export { isSealed, openSecret, parseSecretKey, sealSecret, secretKeyFromEnv } from './secrets/index.js';
export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  ReplayCache,
  SIGNATURE_HEADER,
  signWebhook,
  type VerifyWebhookOptions,
  verifyWebhook,
} from './server/webhooks.js';
export { BUILTIN_SIGNALS, getSignalType } from './signals/builtin.js';
// Hashing an image file or buffer (PDQ + MD5/SHA-1/SHA-256), and many files on worker threads.
export { type HashImageOptions, hashImage, type ImageHashes } from './signals/image.js';
export { autov1Signal, autov2Signal, autov3Signal, blake3Signal } from './signals/model-hashes.js';
export {
  modelNameSha256,
  modelNameSignal,
  modelRefSignal,
  modelRefsOf,
  normalizeModelName,
} from './signals/model-refs.js';
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
export {
  type Comparison,
  type HitDetail,
  type HitSink,
  matchingOf,
  type QueryOptions,
  type QueryPlan,
  type SignalIndex,
  type SignalIndexKind,
  type SignalQuery,
  type SignalType,
} from './signals/types.js';
export { normalizeUrl, urlSha256, urlSha256Signal } from './signals/url.js';
export {
  type ApiKeyRecord,
  type AuditInput,
  type AuditRecord,
  type DeliveryRecord,
  REVIEW_STATUSES,
  type ReviewDecision,
  type ReviewItem,
  type ReviewStatus,
  ROLES,
  type Role,
  type ServiceStore,
  WEBHOOK_EVENTS,
  type WebhookEvent,
  type WebhookRecord,
} from './store/service.js';
export { defaultDbPath, SqliteStore } from './store/sqlite.js';
export type { BankStats, BankStore, BankWithCounts, ImportOptions, ImportReport, StoredEntry } from './store/types.js';
export {
  flattenTags,
  lexiconVersion,
  type PromptPair,
  screenFindings,
  screenPromptPair,
  screenTags,
  screenText,
  screenTextChunks,
  type TagInput,
} from './text/screen.js';
export {
  type ScreenOptions,
  type Strength,
  type TagMap,
  TEXT_CONTEXTS,
  type TextCategory,
  type TextContext,
  type TextReason,
  type TextRule,
  type TextSpan,
  type TextVerdict,
  type TextVerdictKind,
} from './text/types.js';
export { VERSION } from './version.js';
// Video: vPDQ hashing with ffmpeg, its text forms, matching and the frame index.
export {
  DEFAULT_VIDEO_LIMITS,
  hashVideo,
  type VideoHashOptions,
  type VideoHashResult,
  VPDQ_SCALERS,
  type VpdqScaler,
} from './video/hash.js';
export {
  matchVpdq,
  VpdqIndex,
  type VpdqIndexMatch,
  type VpdqMatchOptions,
  type VpdqMatchResult,
} from './video/match.js';
export { hashVideoFile, type VideoHashes } from './video/record.js';
export { sniffVideo, VIDEO_FORMATS, type VideoFormat } from './video/sniff.js';
export {
  parseReferenceText,
  parseThreatExchange,
  parseVpdq,
  toCompact as vpdqToCompact,
  toReferenceText,
  toThreatExchange,
  toThreatExchangeJson,
  VPDQ_COMPARED_MATCH_PERCENT,
  VPDQ_DISTANCE_THRESHOLD,
  VPDQ_QUALITY_THRESHOLD,
  VPDQ_QUERY_MATCH_PERCENT,
  type VpdqFrame,
} from './video/vpdq.js';
