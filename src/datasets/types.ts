/**
 * @module datasets/types
 * The dataset reader slot (`ward dataset audit`): a reader recognises a dataset layout (LAION
 * metadata parquet, WebDataset shards, Hugging Face parquet, image folders, COCO) and yields its
 * shards, then each shard's rows. A row carries what the dataset declares (URL, caption, the
 * hashes of the original download, scores) and, where the dataset stores images, their bytes;
 * the audit (datasets/audit) matches, screens and decides. Readers never fetch a URL.
 *
 * Errors: a shard that cannot be read at all throws (or its row iterator throws part way) a
 * `WardError` `WARD_ERR_DATASET_SHARD`; a bad row is yielded with `error` set
 * (`WARD_ERR_DATASET_ROW`) and the shard goes on. Memory is bounded by one row group or one tar
 * entry (plus the keys seen in the shard, to report duplicates).
 */

/** What a reader is shown to decide whether a path is its kind of dataset. */
export interface DetectInput {
  /** The dataset path (a file or a directory). */
  path: string;
  isDirectory: boolean;
  /** The first 4 KiB of a file (empty for a directory). */
  head: Uint8Array;
  /** A directory's entry names (sorted; empty for a file). */
  entries: readonly string[];
}

/** One unit of work: a file (tar, parquet, COCO JSON) or a folder of images. */
export interface DatasetShard {
  /** The dataset path as given. */
  dataset: string;
  /** Stable shard id, relative to the dataset (e.g. `00000.tar`; `.` for the dataset itself). */
  shard: string;
  /** The file or folder read. */
  path: string;
  /** Bytes of the shard file, when it is a file. */
  size?: number;
  /** Reader-specific details (e.g. the COCO image folder). */
  details?: Readonly<Record<string, unknown>>;
}

/** Which dataset column holds which field (defaults per reader; `--column FIELD=NAME`). */
export interface ColumnMap {
  url?: string;
  caption?: string;
  key?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
  /** Scores that order review (LAION `punsafe`, LAION-400M `NSFW`), never a verdict. */
  scores?: readonly string[];
  /** The image column (Hugging Face `struct{bytes, path}`). */
  image?: string;
}

export interface RowReadOptions {
  columns?: ColumnMap;
  /** First row to read (a distributed job's row-group range; parquet readers). */
  rowStart?: number;
  /** Row to stop before. */
  rowEnd?: number;
  /** Bytes of one image held in memory (larger: a row error). */
  maxImageBytes?: number;
}

export interface DatasetRow {
  /** The row's key (WebDataset / img2dataset key, file name, COCO id) or its row index. */
  key: string;
  /** Row index within the shard (0-based). */
  row: number;
  /** The URL the dataset gives (hashed as `url-sha256`, never fetched). */
  url?: string;
  /** Caption or alt text (screened, never reported). */
  caption?: string;
  /**
   * Hashes the dataset declares: MD5/SHA-1/SHA-256 columns, or the sidecar hash of the original
   * download (img2dataset hashes the bytes before resizing, so they differ from stored bytes).
   */
  declared: Record<string, string>;
  /** Stored image bytes (WebDataset members, embedded images, image files). */
  bytes?: Uint8Array;
  /** The stored image's name inside the shard (e.g. `000000001.jpg`). */
  name?: string;
  /** Numeric scores (punsafe, pwatermark, NSFW...): only to order review. */
  scores?: Record<string, number>;
  /** Provenance the dataset records (img2dataset status, original size...). Small values only. */
  provenance?: Record<string, string | number | boolean>;
  /** Why this row could not be read fully; the rest of the shard goes on. */
  error?: { code: string; message: string };
}

export interface DatasetReader {
  /** Stable: reported with every row and in the summary. */
  readonly name: string;
  readonly description?: string;
  /**
   * Whether the path is this reader's kind of dataset: 0 (no) to 1 (certain). The reader with
   * the highest answer reads the dataset (ties: registration order).
   */
  detect(input: DetectInput): number | Promise<number>;
  /** The dataset's shards, in a stable order. */
  shards(path: string): AsyncIterable<DatasetShard>;
  /** One shard's rows, in order. */
  rows(shard: DatasetShard, options: RowReadOptions): AsyncIterable<DatasetRow>;
  /** Row-group boundaries of a shard, for splitting work (parquet readers). */
  ranges?(shard: DatasetShard): Promise<readonly { rowStart: number; rowEnd: number }[]>;
  /** A digest of the shard's content, recorded by checkpoints (default: SHA-256 of the file). */
  digest?(shard: DatasetShard): Promise<string>;
}
