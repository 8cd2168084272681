/**
 * @module registry
 * One registry of everything that varies, built from plugins (src/plugin.ts) and checked when it
 * is built: names are unique within each slot, every extractor, sniffer and inspector names a
 * known content type. Plugins are given as module specifiers (`--plugin`, `plugins:` in the scan
 * config, the `plugins` option); the resolved specifiers travel to worker threads, which build
 * the same registry before their first task.
 *
 * Everything asks the active registry (`activeRegistry()`): the matcher for signal types and
 * their indexes, the bank formats for detection, the scan pipeline for sniffers and extractors,
 * `ward inspect` for inspectors, the service for the signals it accepts.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinPlugin } from './builtin.js';
import type { DatasetReader } from './datasets/types.js';
import { WardError } from './errors.js';
import type { ExchangeConnector } from './exchanges/types.js';
import type { Inspector } from './inspect/types.js';
import { exactIndexKind } from './match/exact-index.js';
import { linearIndexKind } from './match/linear-index.js';
import { setPluginTrainingTextScreener } from './models/screen.js';
import type { PluginSniffer, WardPlugin } from './plugin.js';
import { setPluginPromptScreener } from './provenance/prompt-screen.js';
import type { Reporter } from './reporting/types.js';
import type { Extractor, Sniffer } from './scan/plugins.js';
import { CONTENT_TYPES, type ContentType } from './scan/types.js';
import { matchingOf, type SignalIndexKind, type SignalType } from './signals/types.js';

const HEX = /^[0-9a-f]+$/i;

function pluginError(message: string, details: Record<string, unknown> = {}): WardError {
  return new WardError('WARD_ERR_PLUGIN_INVALID', message, details);
}

export class Registry {
  /** Module specifiers (resolved file URLs or package names) of the plugins beyond the built-ins. */
  readonly specifiers: readonly string[];
  readonly plugins: readonly WardPlugin[];
  readonly contentTypes: readonly string[];
  private readonly signals = new Map<string, SignalType>();
  private readonly sniffers: PluginSniffer[] = [];
  private readonly extractors: Extractor[] = [];
  private readonly inspectorList: Inspector[] = [];
  private readonly exchangeList: ExchangeConnector[] = [];
  private readonly reporterList: Reporter[] = [];
  private readonly readerList: DatasetReader[] = [];
  private readonly indexKinds = new Map<string, SignalIndexKind>();
  /** Names of things registered at run time (registerExtractor...): they cannot reach workers. */
  private readonly runtime: string[] = [];

  /** Builds and checks a registry; throws WARD_ERR_PLUGIN_INVALID on a conflict. */
  constructor(plugins: readonly WardPlugin[], specifiers: readonly string[] = []) {
    this.specifiers = [...specifiers];
    this.plugins = [...plugins];
    const names = new Set<string>();
    const contentTypes = new Set<string>(CONTENT_TYPES);
    for (const p of plugins) {
      if (!p || typeof p !== 'object' || typeof p.name !== 'string' || p.name === '') {
        throw pluginError('A plugin must be an object with a name (its default export, or `plugin`)');
      }
      if (names.has(p.name)) throw pluginError(`Two plugins are named ${JSON.stringify(p.name)}`, { plugin: p.name });
      names.add(p.name);
      for (const t of p.contentTypes ?? []) contentTypes.add(t);
    }
    this.contentTypes = [...contentTypes];
    for (const p of plugins) this.addPlugin(p);
    this.sniffers.sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
  }

  private addPlugin(p: WardPlugin): void {
    for (const s of p.signalTypes ?? []) this.addSignal(s, p.name);
    for (const s of p.sniffers ?? []) this.addSniffer(s, p.name);
    for (const e of p.extractors ?? []) this.addExtractor(e, p.name);
    for (const i of p.inspectors ?? []) this.addInspector(i, p.name);
    this.addNamed(this.exchangeList, p.exchanges, 'exchange connector', p.name);
    this.addNamed(this.reporterList, p.reporters, 'reporter', p.name);
    this.addNamed(this.readerList, p.datasetReaders, 'dataset reader', p.name);
  }

  private checkContentTypes(what: string, name: string, types: readonly string[], plugin: string): void {
    for (const t of types) {
      if (!this.contentTypes.includes(t)) {
        throw pluginError(
          `The ${what} ${JSON.stringify(name)} of plugin ${plugin} names an unknown content type ${JSON.stringify(t)}`,
          {
            plugin,
            contentType: t,
          },
        );
      }
    }
  }

  private addSignal(s: SignalType, plugin: string): void {
    if (!s || typeof s.name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(s.name)) {
      throw pluginError(
        `Plugin ${plugin} has a signal type without a valid name (lowercase letters, digits, - and _)`,
        { plugin },
      );
    }
    if (typeof s.parse !== 'function' || typeof s.compare !== 'function') {
      throw pluginError(`Signal type ${s.name} of plugin ${plugin} needs parse and compare`, {
        plugin,
        signal: s.name,
      });
    }
    if (this.signals.has(s.name))
      throw pluginError(`Two signal types are named ${JSON.stringify(s.name)}`, { plugin, signal: s.name });
    this.signals.set(s.name, s);
  }

  private addSniffer(s: PluginSniffer, plugin: string): void {
    if (this.sniffers.some((x) => x.name === s.name))
      throw pluginError(`Two sniffers are named ${JSON.stringify(s.name)}`, { plugin });
    this.checkContentTypes('sniffer', s.name, [s.contentType], plugin);
    this.sniffers.push(s);
  }

  private addExtractor(e: Extractor, plugin: string): void {
    if (this.extractors.some((x) => x.name === e.name))
      throw pluginError(`Two extractors are named ${JSON.stringify(e.name)}`, { plugin });
    this.checkContentTypes('extractor', e.name, e.contentTypes, plugin);
    this.extractors.push(e);
  }

  private addInspector(i: Inspector, plugin: string): void {
    if (this.inspectorList.some((x) => x.name === i.name))
      throw pluginError(`Two inspectors are named ${JSON.stringify(i.name)}`, { plugin });
    this.checkContentTypes('inspector', i.name, i.contentTypes, plugin);
    this.inspectorList.push(i);
  }

  private addNamed<T extends { name: string }>(
    list: T[],
    items: readonly T[] | undefined,
    what: string,
    plugin: string,
  ): void {
    for (const item of items ?? []) {
      if (!item || typeof item.name !== 'string' || item.name === '')
        throw pluginError(`Plugin ${plugin} has a ${what} without a name`, { plugin });
      if (list.some((x) => x.name === item.name))
        throw pluginError(`Two ${what}s are named ${JSON.stringify(item.name)}`, { plugin });
      list.push(item);
    }
  }

  // Signal types

  signalTypes(): SignalType[] {
    return [...this.signals.values()];
  }

  signalNames(): string[] {
    return [...this.signals.keys()];
  }

  signalType(name: string): SignalType | undefined {
    return this.signals.get(name);
  }

  /** The signal type of a name given by a user (trimmed, any case); unknown is a usage error. */
  requireSignalType(name: string): SignalType {
    const type = typeof name === 'string' ? this.signals.get(name.trim().toLowerCase()) : undefined;
    if (type === undefined) {
      const known = this.signalNames().join(', ');
      const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 20)) : typeof name;
      throw new WardError('WARD_ERR_CONFIG_INVALID', `Unknown signal type ${shown}: expected one of ${known}`, {
        expected: known,
      });
    }
    return type;
  }

  /** The index kind bank entries of a signal type live in. */
  indexKind(type: SignalType): SignalIndexKind {
    let kind = this.indexKinds.get(type.name);
    if (!kind) {
      kind = type.index ?? (matchingOf(type) === 'exact' ? exactIndexKind : linearIndexKind(type));
      this.indexKinds.set(type.name, kind);
    }
    return kind;
  }

  /** Every signal type that claims a bare value (`detect`), in registration order. */
  candidates(value: string): SignalType[] {
    if (typeof value !== 'string') return [];
    const v = value.trim();
    if (v === '') return [];
    return this.signalTypes().filter((t) => {
      try {
        return t.detect?.(v) === true;
      } catch {
        return false;
      }
    });
  }

  /**
   * The signal type and normalised value of a stored value. With `explicit`, that type parses
   * it; without, exactly one type must claim it: a value several types claim (64 hex: pdq,
   * sha256, autov3, blake3) is an error rather than a guess (a PDQ hash stored as sha256 would
   * never match anything).
   */
  detectSignal(value: string, explicit?: string): { signal: string; value: string } {
    if (explicit !== undefined) {
      const type = this.requireSignalType(explicit);
      return { signal: type.name, value: type.parse(value) };
    }
    const v = typeof value === 'string' ? value.trim() : '';
    const found = this.candidates(v);
    if (found.length === 1) {
      const type = found[0] as SignalType;
      return { signal: type.name, value: type.parse(v) };
    }
    if (found.length > 1) {
      const names = found.map((t) => t.name);
      const [a, b, ...rest] = names;
      throw new WardError(
        'WARD_ERR_SIGNAL_INVALID',
        `A ${HEX.test(v) ? `${v.length}-hex ` : ''}value may be ${a} or ${b}${rest.length > 0 ? ` (or ${rest.join(', ')})` : ''}: give the signal type (--signal, a signal column or field)`,
        { expected: 'a signal type', actual: names.join(', ') },
      );
    }
    throw new WardError(
      'WARD_ERR_SIGNAL_INVALID',
      'Expected a 32-hex md5, 40-hex sha1 or 64-hex pdq/sha256 hash (model hashes need --signal autov1, autov2, autov3 or blake3)',
      { expected: '32, 40 or 64 hex characters', actual: `${v.length} characters` },
    );
  }

  // Content

  /** Content type and format from the first bytes; `other` when nothing recognises them. */
  sniff(head: Uint8Array): { contentType: ContentType; format?: string } {
    for (const s of this.sniffers) {
      const format = s.sniff(head);
      if (format !== undefined) return { contentType: s.contentType, format };
    }
    return { contentType: 'other' };
  }

  extractorsFor(contentType: ContentType): Extractor[] {
    return this.extractors.filter((e) => e.contentTypes.includes(contentType));
  }

  inspectors(): Inspector[] {
    return [...this.inspectorList];
  }

  exchanges(): ExchangeConnector[] {
    return [...this.exchangeList];
  }

  reporters(): Reporter[] {
    return [...this.reporterList];
  }

  datasetReaders(): DatasetReader[] {
    return [...this.readerList];
  }

  /** The last plugin's text-screener hooks. */
  screeners(): WardPlugin['screeners'] {
    let out: WardPlugin['screeners'] = {};
    for (const p of this.plugins) if (p.screeners) out = { ...out, ...p.screeners };
    return out;
  }

  /**
   * Things registered at run time (registerExtractor, registerSniffer, registerInspector): they
   * exist in this thread only, so a scan with worker threads refuses to start with them.
   */
  runtimeRegistrations(): readonly string[] {
    return this.runtime;
  }

  /** @internal registerSniffer/registerExtractor/registerInspector. */
  addRuntime(kind: 'sniffer' | 'extractor' | 'inspector', item: Sniffer | Extractor | Inspector, first = false): void {
    if (kind === 'sniffer') {
      const s = item as Sniffer;
      const name = (s as PluginSniffer).name ?? `runtime-sniffer-${this.runtime.length}`;
      this.checkContentTypes('sniffer', name, [s.contentType], 'runtime');
      const entry: PluginSniffer = { ...s, name, order: first ? -1 : 50 };
      this.sniffers.push(entry);
      this.sniffers.sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
      this.runtime.push(`sniffer ${name}`);
    } else if (kind === 'extractor') {
      const e = item as Extractor;
      if (this.extractors.some((x) => x.name === e.name)) return; // module imported twice
      this.addExtractor(e, 'runtime');
      this.runtime.push(`extractor ${e.name}`);
    } else {
      const i = item as Inspector;
      if (this.inspectorList.some((x) => x.name === i.name)) return;
      this.addInspector(i, 'runtime');
      this.runtime.push(`inspector ${i.name}`);
    }
  }
}

/**
 * Resolves a plugin specifier the way a user means it: a path (`./my-plugin.js`, `/abs/p.js`) is
 * relative to `cwd`; anything else is a package resolved from `cwd` (then from Ward itself).
 * Returns a `file:` URL, so workers load exactly the same module.
 */
export function resolvePluginSpecifier(specifier: string, cwd: string = process.cwd()): string {
  if (typeof specifier !== 'string' || specifier.trim() === '') throw pluginError('An empty plugin specifier');
  const s = specifier.trim();
  if (s.startsWith('file:')) return s;
  if (s.startsWith('.') || isAbsolute(s)) return pathToFileURL(resolve(cwd, s)).href;
  try {
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(s)).href;
  } catch {
    try {
      return pathToFileURL(createRequire(import.meta.url).resolve(s)).href;
    } catch (cause) {
      throw new WardError(
        'WARD_ERR_PLUGIN_INVALID',
        `Cannot find the plugin ${JSON.stringify(s)}`,
        { plugin: s },
        cause,
      );
    }
  }
}

/** Imports plugin modules (resolved specifiers) and returns their manifests. */
export async function importPlugins(specifiers: readonly string[]): Promise<WardPlugin[]> {
  const out: WardPlugin[] = [];
  for (const spec of specifiers) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(spec)) as Record<string, unknown>;
    } catch (cause) {
      throw new WardError(
        'WARD_ERR_PLUGIN_INVALID',
        `Cannot load the plugin ${spec}: ${(cause as Error)?.message ?? String(cause)}`,
        { plugin: spec },
        cause,
      );
    }
    const plugin = (mod.default ?? mod.plugin) as WardPlugin | undefined;
    if (!plugin || typeof plugin !== 'object') {
      throw pluginError(`The module ${spec} exports no plugin (a default export or \`plugin\`)`, { plugin: spec });
    }
    out.push(plugin);
  }
  return out;
}

/** A registry of the built-ins and the plugins at `specifiers` (resolved first). */
export async function loadRegistry(specifiers: readonly string[] = [], cwd?: string): Promise<Registry> {
  const resolved = [...new Set(specifiers.map((s) => resolvePluginSpecifier(s, cwd)))];
  return new Registry([builtinPlugin, ...(await importPlugins(resolved))], resolved);
}

let active: Registry | undefined;

/** The registry everything asks (the built-ins until plugins are loaded). */
export function activeRegistry(): Registry {
  if (!active) setActiveRegistry(new Registry([builtinPlugin]));
  return active as Registry;
}

/** Makes `registry` the active one and installs its text-screener hooks. */
export function setActiveRegistry(registry: Registry): void {
  active = registry;
  const screeners = registry.screeners() ?? {};
  setPluginTrainingTextScreener(screeners.trainingText);
  setPluginPromptScreener(screeners.prompt);
}

/**
 * Loads plugins into the active registry (when they are not already in it) and returns it. Used
 * by every command's `--plugin`, the scan config's `plugins:` and each worker thread.
 */
export async function usePlugins(specifiers: readonly string[] = [], cwd?: string): Promise<Registry> {
  const current = activeRegistry();
  const resolved = [...new Set(specifiers.map((s) => resolvePluginSpecifier(s, cwd)))];
  if (resolved.every((s) => current.specifiers.includes(s))) return current;
  const all = [...new Set([...current.specifiers, ...resolved])];
  const registry = new Registry([builtinPlugin, ...(await importPlugins(all))], all);
  if (current.runtimeRegistrations().length > 0) {
    throw pluginError('Plugins cannot be loaded after run-time registrations (registerExtractor...): load them first');
  }
  setActiveRegistry(registry);
  return registry;
}

// The built-ins are active from the start, so library calls (inspectModel, screenPrompts...) see
// the built-in screeners without a scan having run.
activeRegistry();

/** Adds a sniffer to the active registry (this thread only: prefer a plugin module). */
export function registerSniffer(sniffer: Sniffer, first = false): void {
  activeRegistry().addRuntime('sniffer', sniffer, first);
}

/** Adds an extractor to the active registry (this thread only: prefer a plugin module). */
export function registerExtractor(extractor: Extractor): void {
  activeRegistry().addRuntime('extractor', extractor);
}

/** Adds an inspector to the active registry (this thread only: prefer a plugin module). */
export function registerInspector(inspector: Inspector): void {
  activeRegistry().addRuntime('inspector', inspector);
}

/** Content type and format from the first bytes, by the active registry's sniffers. */
export function sniffContent(head: Uint8Array): { contentType: ContentType; format?: string } {
  return activeRegistry().sniff(head);
}
