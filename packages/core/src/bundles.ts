import { Type, type Static } from '@sinclair/typebox';
import { canonicalJson } from './canonical-json.js';
import { invalid } from './errors.js';
import { parseReference, type Reference } from './reference.js';

/**
 * Pins, upstreams and the bundle manifest (DESIGN §2 "LLM bundles", docs/decisions/0017).
 * A pin names exactly one version: `name:N` or `name@sha256:…`. A bare name or an alias
 * floats (it reads as another version tomorrow), so it is never a pin.
 */
export type Pin = Reference & { selector: { kind: 'version'; version: number } | { kind: 'digest'; digest: string } };

export function parsePin(ref: unknown, role = 'pin'): Pin {
  const parsed = parseReference(ref);
  const s = parsed.selector;
  if (s.kind === 'version' || s.kind === 'digest') return parsed as Pin;
  const why = s.kind === 'alias' ? `@${s.alias} is an alias` : 'a bare name means the latest version';
  throw invalid(`${role} ${JSON.stringify(ref)} floats (${why}): pin a version as name:N or name@sha256:<digest>`, { field: role, value: ref });
}

/** An external source of weights: `hf:<org>/<name>@<40-hex commit>`. */
export interface Upstream {
  repo: string;
  revision: string;
}

const UPSTREAM = /^hf:([A-Za-z0-9_][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9_][A-Za-z0-9._-]{0,95})@(.+)$/;

/** Parses an upstream; a branch or tag name (`@main`, `@v1.0`) is refused: it moves. */
export function parseUpstream(value: unknown): Upstream {
  const m = typeof value === 'string' ? UPSTREAM.exec(value) : null;
  if (!m) throw invalid(`invalid upstream ${JSON.stringify(value)}: use hf:<org>/<name>@<40-hex commit>`, { field: 'upstream', value });
  const [, repo = '', revision = ''] = m;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    throw invalid(`upstream ${JSON.stringify(value)} names ${JSON.stringify(revision)}, which is not a commit: a branch or tag moves; give the 40-hex commit`, {
      field: 'upstream',
      value,
    });
  }
  return { repo, revision };
}

/** What a PEFT adapter_config.json records that Berth keeps as metadata. */
export interface AdapterConfigFacts {
  r?: number;
  lora_alpha?: number;
  target_modules?: string[] | string;
  task_type?: string;
  peft_type?: string;
}

/**
 * Checks a PEFT `adapter_config.json` against the base the adapter is pushed with, and returns
 * the facts to record. `base_model_name_or_path` must name the base: its upstream repo when
 * the base records one, else its model name (a local path is compared by its last segment).
 * `revision`, when set, must be the base upstream's commit. Absent fields contradict nothing.
 */
export function checkAdapterConfig(config: unknown, base: { ref: string; model: string; upstream?: Upstream }): AdapterConfigFacts {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw invalid('adapter_config.json must hold a JSON object', { field: 'adapter_config' });
  const c = config as Record<string, unknown>;
  const named = c.base_model_name_or_path;
  if (typeof named === 'string' && named !== '') {
    const given = named.replace(/\/+$/, '');
    const last = (s: string) => s.slice(s.lastIndexOf('/') + 1);
    const matches = base.upstream ? given === base.upstream.repo : given === base.model || last(given) === last(base.model);
    if (!matches) {
      throw invalid(
        `adapter_config.json names base ${JSON.stringify(named)}, but --base ${base.ref} is ${base.upstream ? `${base.upstream.repo}@${base.upstream.revision}` : base.model}`,
        { field: 'base', adapter_base: named, base: base.ref },
      );
    }
  }
  const revision = c.revision;
  if (typeof revision === 'string' && revision !== '' && (!base.upstream || revision !== base.upstream.revision)) {
    throw invalid(
      `adapter_config.json pins base revision ${JSON.stringify(revision)}, but --base ${base.ref} ${base.upstream ? `is at ${base.upstream.revision}` : 'records no upstream commit'}`,
      { field: 'base', adapter_revision: revision, base: base.ref },
    );
  }
  const facts: AdapterConfigFacts = {};
  if (typeof c.r === 'number') facts.r = c.r;
  if (typeof c.lora_alpha === 'number') facts.lora_alpha = c.lora_alpha;
  if (typeof c.target_modules === 'string' || (Array.isArray(c.target_modules) && c.target_modules.every((t) => typeof t === 'string')))
    facts.target_modules = c.target_modules as string[] | string;
  if (typeof c.task_type === 'string') facts.task_type = c.task_type;
  if (typeof c.peft_type === 'string') facts.peft_type = c.peft_type;
  return facts;
}

export const LINEAGE_DIRECTIONS = ['uses', 'used-by'] as const;
export type LineageDirection = (typeof LINEAGE_DIRECTIONS)[number];

/** One edge of the lineage graph as seen from the version asked about. */
export const LineageEntrySchema = Type.Object({ model: Type.String(), kind: Type.String(), version: Type.Integer(), digest: Type.String() });
export type LineageEntry = Static<typeof LineageEntrySchema>;

export const BUNDLE_MANIFEST_PATH = 'berth-bundle.json';
export const BUNDLE_FORMAT = 'berth-bundle/1';

const FileEntry = Type.Object({ path: Type.String(), size: Type.Integer({ minimum: 0 }), sha256: Type.String() });
const Component = Type.Object({ model: Type.String(), version: Type.Integer({ minimum: 1 }), digest: Type.String(), files: Type.Array(FileEntry) });
export type BundleComponent = Static<typeof Component>;

/** `berth-bundle.json`: every component by model, version and digest, with its files' digests. */
export const BundleManifestSchema = Type.Object({
  format: Type.Literal(BUNDLE_FORMAT),
  base: Component,
  adapters: Type.Array(Component),
  prompt: Type.Union([Component, Type.Null()]),
  rag: Type.Union([Component, Type.Null()]),
  params: Type.Record(Type.String(), Type.Unknown()),
});
export type BundleManifest = Static<typeof BundleManifestSchema>;

/** The manifest's bytes: canonical JSON, so one set of pins always has one digest. */
export function bundleManifestBytes(m: BundleManifest): Uint8Array {
  return new TextEncoder().encode(`${canonicalJson(m)}\n`);
}

/** Body of `POST /api/v1/models/{name}/bundles`: each component a pin (`name:N` or `name@sha256:…`). */
export const CreateBundleBody = Type.Object(
  {
    from: Type.Optional(Type.String()),
    base: Type.Optional(Type.String()),
    adapters: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
    prompt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    rag: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    description: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
export type CreateBundleBody = Static<typeof CreateBundleBody>;
