import { Readable } from 'node:stream';
import {
  BUNDLE_FORMAT,
  BUNDLE_MANIFEST_PATH,
  bundleManifestBytes,
  invalid,
  notContentAddressed,
  parsePin,
  sha256Hex,
  validateModelName,
  type BundleComponent,
  type BundleManifest,
  type CreateBundleBody,
  type Dependency,
  type LineageDirection,
  type LineageEntry,
} from '@berth/core';
import { requireRole, type Actor } from './actor.js';
import { requireModel, requireVersion, type RegistryDeps } from './deps.js';
import { Keyset } from './paging.js';
import type { ResultPage, VersionView } from './results.js';
import type { VersionService } from './versions-service.js';
import type { BlobService } from './blobs-service.js';

/** The kind of model each role of a bundle must be a version of. */
const ROLE_KIND = { base: 'model', adapters: 'adapter', prompt: 'prompt', rag: 'rag-config' } as const;
type Role = keyof typeof ROLE_KIND;

/**
 * Bundles (docs/decisions/0017): a version of kind `bundle` whose only file is
 * `berth-bundle.json`, written here from pins resolved to version and digest, and whose
 * dependencies are those pins, so the commit's pin rules (pin-rules.ts) and the delete guard
 * apply as to any version. Also the lineage of any version, both directions.
 */
export class BundleService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly versions: VersionService,
    private readonly blobs: BlobService,
  ) {}

  async create(actor: Actor, name: string, body: CreateBundleBody): Promise<VersionView> {
    requireRole(actor, 'editor', 'registering a version', name);
    validateModelName(name);
    const given: Partial<Record<Role, string[] | null>> = {};
    if (body.base !== undefined) given.base = [body.base];
    if (body.adapters !== undefined) given.adapters = body.adapters;
    if (body.prompt !== undefined) given.prompt = body.prompt === null ? null : [body.prompt];
    if (body.rag !== undefined) given.rag = body.rag === null ? null : [body.rag];
    // Every pin is parsed before anything is read: a floating reference changes nothing.
    for (const [role, refs] of Object.entries(given)) for (const r of refs ?? []) parsePin(r, role === 'adapters' ? 'adapter' : role);
    const start = body.from === undefined ? undefined : await this.startFrom(body.from);
    const bases = new Map<string, Dependency | undefined>();
    const component = async (role: Role, ref: string) => this.component(role, ref, bases);
    const pick = async (role: Role, old: BundleComponent[]): Promise<BundleComponent[]> => {
      const refs = given[role];
      if (refs === null) return [];
      if (refs === undefined) return old;
      return Promise.all(refs.map((r) => component(role, r)));
    };
    const [base] = await pick('base', start ? [start.base] : []);
    if (!base) throw invalid('a bundle pins a base: give base (berth bundle create --base <model>:<N>) or from', { field: 'base' });
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      base,
      adapters: await pick('adapters', start?.adapters ?? []),
      prompt: (await pick('prompt', start?.prompt ? [start.prompt] : []))[0] ?? null,
      rag: (await pick('rag', start?.rag ? [start.rag] : []))[0] ?? null,
      params: { ...(start?.params ?? {}), ...(body.params ?? {}) },
    };
    // Checked again by the commit's pin rules; here too so that a refused bundle stores no manifest blob.
    for (const a of manifest.adapters) {
      const own = bases.get(`${a.model}:${a.version}`);
      if (own && (own.model !== base.model || own.version !== base.version))
        throw invalid(`adapter ${a.model}:${a.version} is trained on ${own.model}:${own.version}, not on the bundle's base ${base.model}:${base.version}`, {
          field: 'adapters',
          adapter: `${a.model}:${a.version}`,
          adapter_base: `${own.model}:${own.version}`,
          base: `${base.model}:${base.version}`,
        });
    }
    const bytes = bundleManifestBytes(manifest);
    const sha = sha256Hex(bytes);
    await this.blobs.put(actor, sha, Readable.from([bytes]), bytes.length);
    const pins = [manifest.base, ...manifest.adapters, manifest.prompt, manifest.rag].filter((c): c is BundleComponent => c !== null);
    const dependencies: Dependency[] = pins.map((c) => ({ model: c.model, version: c.version, digest: c.digest }));
    return this.versions.create(actor, name, {
      files: [{ path: BUNDLE_MANIFEST_PATH, size: bytes.length, sha256: sha }],
      kind: 'bundle',
      metadata: { params: manifest.params },
      dependencies,
      description: body.description,
      tags: body.tags,
    });
  }

  /** The manifest of the bundle a new one starts from. */
  private async startFrom(ref: string): Promise<BundleManifest> {
    const pin = parsePin(ref, 'from');
    const tx = this.deps.store.read;
    const { model, version } = await this.versions.resolveRecord(tx, pin);
    const file = model.kind === 'bundle' ? await tx.versions.file(version.id, BUNDLE_MANIFEST_PATH) : undefined;
    if (!file) throw invalid(`from ${ref} is not a bundle (${model.name} is of kind ${model.kind})`, { field: 'from' });
    const chunks: Buffer[] = [];
    for await (const c of (await this.blobs.open(file.sha256)).stream) chunks.push(Buffer.from(c as Uint8Array));
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as BundleManifest;
  }

  /** A pinned component with its files; an adapter's own base pin goes into `bases`. */
  private async component(role: Role, ref: string, bases: Map<string, Dependency | undefined>): Promise<BundleComponent> {
    const label = role === 'adapters' ? 'adapter' : role;
    const tx = this.deps.store.read;
    const { model, version } = await this.versions.resolveRecord(tx, parsePin(ref, label));
    if (model.kind !== ROLE_KIND[role]) {
      throw invalid(`${label} ${ref} is a version of ${model.name}, of kind ${model.kind}; a bundle's ${label} is of kind ${ROLE_KIND[role]}`, {
        field: label,
        value: ref,
      });
    }
    if (!version.content_addressed)
      throw notContentAddressed(`${model.name}:${version.version}`, version.external_uri ?? '', `a bundle cannot pin it as its ${label}`);
    if (role === 'adapters') bases.set(`${model.name}:${version.version}`, version.dependencies[0]);
    return { model: model.name, version: version.version, digest: version.digest, files: await tx.versions.files(version.id) };
  }

  /**
   * What a version pins (`uses`: one page, pins are few) or what pins it (`used-by`, paged by
   * the pinning version): each one indexed query.
   */
  async lineage(name: string, version: number, direction: LineageDirection, opts: { cursor?: string; limit?: unknown }): Promise<ResultPage<LineageEntry>> {
    validateModelName(name);
    const tx = this.deps.store.read;
    const model = await requireModel(tx, name);
    if (direction === 'uses') {
      const v = await requireVersion(tx, model, version);
      return { items: await tx.lineage.uses(v.id), next_cursor: null };
    }
    const keyset = new Keyset(opts, 'i', Number);
    const rows = await tx.lineage.usedBy(model.id, version, { after: keyset.after, limit: keyset.fetch });
    if (rows.length === 0) await requireVersion(tx, model, version);
    const page = keyset.page(rows, (r) => r.id);
    return { items: page.items.map(({ id: _, ...r }) => r), next_cursor: page.next_cursor };
  }
}
