/**
 * @module datasets/types
 * The dataset reader slot (`ward dataset audit`): a reader recognises a dataset layout (LAION
 * metadata parquet, WebDataset shards, image folders...) and yields its rows. The dataset issue
 * defines the row contract; the registry needs only a unique name.
 */
export interface DatasetReader {
  /** Stable: reported with every row and in the summary. */
  readonly name: string;
  readonly description?: string;
}
