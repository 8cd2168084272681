/**
 * @module provenance/c2pa/manifest
 * A C2PA manifest store read from its JUMBF: the active manifest's claim (generator, title), its
 * actions and their IPTC digital source types, soft bindings (declared watermarks), ingredients,
 * and the validation of its signature, hashes and signer (c2pa/validate). Never fetches anything:
 * a manifest stored elsewhere is reported as a remote reference.
 */
import { CborError, CborTag, decodeCbor, field } from './cbor.js';
import { C2PA_UUID, JumbfError, type JumbfSuperbox, parseJumbf } from './jumbf.js';
import { type C2paValidation, type ValidateOptions, validateManifest } from './validate.js';

export interface C2paAction {
  action: string;
  softwareAgent?: string;
  /** The IPTC digital source type URI (trimmed). */
  digitalSourceType?: string;
  when?: string;
}

export interface C2paSummary {
  /** Label of the active (last) manifest. */
  activeManifest?: string;
  /** Manifests in the store (the active one and its ingredients'). */
  manifests: number;
  claimVersion?: 1 | 2;
  /** Who made the claim (`claim_generator`, or `claim_generator_info` name and version). */
  claimGenerator?: string;
  title?: string;
  /** The active manifest's actions. */
  actions: C2paAction[];
  /** Digital source types the active manifest declares, as IPTC short names (`trainedAlgorithmicMedia`). */
  digitalSourceTypes: string[];
  /** Digital source types declared only by ingredient manifests. */
  ingredientDigitalSourceTypes?: string[];
  /** Soft bindings (declared invisible watermarks): algorithm names. */
  softBindings?: string[];
  ingredients?: { title?: string; relationship?: string }[];
  /** A manifest stored elsewhere (XMP `dcterms:provenance`): reported, never fetched. */
  remoteManifest?: string;
  validation: C2paValidation;
}

export interface AssertionBox {
  label: string;
  box: JumbfSuperbox;
  /** Decoded CBOR or JSON content, when it has one. */
  value?: unknown;
}

export interface ParsedManifest {
  label: string;
  box: JumbfSuperbox;
  claimVersion: 1 | 2;
  claim: unknown;
  /** The claim's CBOR bytes (the signed payload). */
  claimBytes?: Uint8Array;
  signatureBytes?: Uint8Array;
  assertions: AssertionBox[];
}

const IPTC_PREFIX = /^https?:\/\/cv\.iptc\.org\/newscodes\/digitalsourcetype\//;

/** The short IPTC name of a digital source type URI (`trainedAlgorithmicMedia`). */
export function sourceTypeName(uri: string): string {
  return uri.trim().replace(IPTC_PREFIX, '');
}

function contentValue(box: JumbfSuperbox): unknown {
  for (const c of box.content) {
    if (c.type === 'cbor') return decodeCbor(c.payload, true);
    if (c.type === 'json') return JSON.parse(new TextDecoder().decode(c.payload));
  }
  return undefined;
}

export function parseManifest(box: JumbfSuperbox): ParsedManifest {
  const claimBox = box.children.find((c) => c.uuid === C2PA_UUID.claim);
  const sigBox = box.children.find((c) => c.uuid === C2PA_UUID.signature);
  const store = box.children.find((c) => c.uuid === C2PA_UUID.assertions);
  const claimBytes = claimBox?.content.find((c) => c.type === 'cbor')?.payload;
  const claim = claimBytes ? decodeCbor(claimBytes, true) : undefined;
  const assertions: AssertionBox[] = [];
  for (const a of store?.children ?? []) {
    let value: unknown;
    try {
      value = contentValue(a);
    } catch {
      value = undefined; // an undecodable assertion still hashes; its content is just not read
    }
    assertions.push({ label: a.label, box: a, value });
  }
  return {
    label: box.label,
    box,
    claimVersion: claimBox?.label === 'c2pa.claim.v2' ? 2 : 1,
    claim,
    ...(claimBytes ? { claimBytes } : {}),
    ...(sigBox?.content.find((c) => c.type === 'cbor')
      ? { signatureBytes: sigBox.content.find((c) => c.type === 'cbor')?.payload }
      : {}),
    assertions,
  };
}

/** Assertions whose label is `base` or `base__N` (multiple instances). */
function assertionsNamed(m: ParsedManifest, ...bases: string[]): AssertionBox[] {
  return m.assertions.filter((a) => bases.some((b) => a.label === b || a.label.startsWith(`${b}__`)));
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : v instanceof CborTag && typeof v.value === 'string' ? v.value : undefined;
}

function agentName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  const name = str(field(v, 'name'));
  const version = str(field(v, 'version'));
  return name ? (version ? `${name} ${version}` : name) : undefined;
}

export function actionsOf(m: ParsedManifest): C2paAction[] {
  const out: C2paAction[] = [];
  for (const a of assertionsNamed(m, 'c2pa.actions', 'c2pa.actions.v2')) {
    const list = field(a.value, 'actions');
    if (!Array.isArray(list)) continue;
    for (const act of list.slice(0, 1000)) {
      const action = str(field(act, 'action'));
      if (!action) continue;
      const agent = agentName(field(act, 'softwareAgent'));
      const dst = str(field(act, 'digitalSourceType'));
      const when = str(field(act, 'when'));
      out.push({
        action,
        ...(agent ? { softwareAgent: agent } : {}),
        ...(dst ? { digitalSourceType: dst.trim() } : {}),
        ...(when ? { when } : {}),
      });
    }
  }
  return out;
}

function claimGenerator(m: ParsedManifest): string | undefined {
  const direct = str(field(m.claim, 'claim_generator'));
  if (direct) return direct;
  const info = field(m.claim, 'claim_generator_info');
  const first = Array.isArray(info) ? info[0] : info;
  return agentName(first);
}

export interface ReadStoreOptions extends ValidateOptions {}

/**
 * Reads and validates a manifest store. Throws JumbfError or CborError when the store's structure
 * cannot be walked (the caller reports it as an issue).
 */
export function readManifestStore(jumbf: Uint8Array, options: ReadStoreOptions): C2paSummary {
  const store = parseJumbf(jumbf);
  if (store.uuid !== C2PA_UUID.store)
    throw new JumbfError(`Not a C2PA manifest store (label ${JSON.stringify(store.label)})`, 0);
  const boxes = store.children.filter((c) => c.uuid === C2PA_UUID.manifest);
  const manifests = boxes.map(parseManifest);
  const active = manifests[manifests.length - 1];
  if (!active) throw new JumbfError('C2PA manifest store without a manifest', 0);
  const actions = actionsOf(active);
  const dst = [...new Set(actions.flatMap((a) => (a.digitalSourceType ? [sourceTypeName(a.digitalSourceType)] : [])))];
  const fromIngredients = new Set<string>();
  for (const m of manifests.slice(0, -1))
    for (const a of actionsOf(m)) if (a.digitalSourceType) fromIngredients.add(sourceTypeName(a.digitalSourceType));
  for (const d of dst) fromIngredients.delete(d);
  const soft = assertionsNamed(active, 'c2pa.soft-binding').flatMap((a) => str(field(a.value, 'alg')) ?? []);
  const ingredients = assertionsNamed(active, 'c2pa.ingredient', 'c2pa.ingredient.v2', 'c2pa.ingredient.v3').map(
    (a) => {
      const title = str(field(a.value, 'dc:title')) ?? str(field(a.value, 'title'));
      const relationship = str(field(a.value, 'relationship'));
      return { ...(title ? { title } : {}), ...(relationship ? { relationship } : {}) };
    },
  );
  const generator = claimGenerator(active);
  const title = str(field(active.claim, 'dc:title'));
  return {
    activeManifest: active.label,
    manifests: manifests.length,
    claimVersion: active.claimVersion,
    ...(generator ? { claimGenerator: generator } : {}),
    ...(title ? { title } : {}),
    actions,
    digitalSourceTypes: dst,
    ...(fromIngredients.size > 0 ? { ingredientDigitalSourceTypes: [...fromIngredients] } : {}),
    ...(soft.length > 0 ? { softBindings: soft } : {}),
    ...(ingredients.length > 0 ? { ingredients } : {}),
    validation: validateManifest(active, manifests, options),
  };
}

export { CborError, JumbfError };
