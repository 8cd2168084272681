/**
 * @module plugin
 * The plugin manifest. Everything in Ward that varies is a plugin: signal types (with their
 * indexes and query rules), sniffers, extractors, inspectors, exchange connectors, reporters and
 * dataset readers, plus the text-screener hooks. The built-ins are themselves a plugin
 * (src/builtin.ts). A plugin module's default export (or its `plugin` export) is a WardPlugin;
 * the registry (src/registry.ts) is built from a list of module specifiers, and that list is
 * what travels to worker threads and worker processes, so every thread builds the same registry.
 */
import type { DatasetReader } from './datasets/types.js';
import type { ExchangeConnector } from './exchanges/types.js';
import type { Inspector } from './inspect/types.js';
import type { TrainingTextScreener } from './models/screen.js';
import type { PromptScreener } from './provenance/prompt-screen.js';
import type { Reporter } from './reporting/types.js';
import type { Extractor, Sniffer } from './scan/plugins.js';
import type { SignalType } from './signals/types.js';

/** A sniffer with its place in the sniffing order (lower first; built-ins: model 0 … text 100). */
export interface PluginSniffer extends Sniffer {
  /** Unique among sniffers. */
  name: string;
  /** Default 50: after the built-in binary formats, before the catch-all text sniffer. */
  order?: number;
}

export interface WardPlugin {
  /** Unique among loaded plugins (`ward`, `acme-signals`). */
  name: string;
  version?: string;
  /** Content types this plugin's sniffers introduce (beyond image, video, model, text, archive, other). */
  contentTypes?: readonly string[];
  signalTypes?: readonly SignalType[];
  sniffers?: readonly PluginSniffer[];
  extractors?: readonly Extractor[];
  inspectors?: readonly Inspector[];
  exchanges?: readonly ExchangeConnector[];
  reporters?: readonly Reporter[];
  datasetReaders?: readonly DatasetReader[];
  /**
   * Text-screener hooks: model training text and image prompts go to these. The last plugin
   * that sets one wins (the built-in plugin sets src/text's).
   */
  screeners?: { trainingText?: TrainingTextScreener; prompt?: PromptScreener };
}

/** Types a plugin manifest (an identity function, for editors and `tsc`). */
export function definePlugin<T extends WardPlugin>(plugin: T): T {
  return plugin;
}
