import { BerthError, CARD_METADATA_KEY, MAX_CARD_BYTES, generateCard, isoTime, parseCard, parseUpstream, type Card } from '@berth/core';
import { requireRole, type Actor } from './actor.js';
import { requireVersion, type RegistryDeps } from './deps.js';
import type { VersionRecord } from '../store/versions.js';
import type { StoreTx } from '../store/store.js';
import { versionRef, type VersionService } from './versions-service.js';

/** The file a version's own card is, as on the Hub. */
const CARD_FILE = 'README.md';
/** Evaluations a generated card lists in its `model-index`, newest first. */
const CARD_EVALUATIONS = 100;

/**
 * Model cards (decision 0018): a version's card is its edited card (metadata `berth.card`), else
 * its README.md, else one generated from its metadata and recorded evaluations. An edit goes
 * through the ordinary version update, so it is audited like any metadata change and its
 * history is the audit trail; the version's files never change.
 */
export class CardService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly versions: VersionService,
  ) {}

  async get(name: string, ref: string): Promise<Card> {
    const tx = this.deps.store.read;
    const { model, version } = await this.versions.resolveRecord(tx, versionRef(name, ref));
    const at = { model: model.name, version: version.version };
    const edited = version.metadata[CARD_METADATA_KEY];
    if (typeof edited === 'string') return { ...at, source: 'edited', text: edited, metadata: frontMatterOf(edited) };
    const file = await tx.versions.file(version.id, CARD_FILE);
    if (file) {
      if (file.size > MAX_CARD_BYTES) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `${model.name}:${version.version}'s ${CARD_FILE} is ${file.size} bytes, over the ${MAX_CARD_BYTES / 1024} KiB a card may have: read the file with berth pull, or edit the card (berth card --edit)`,
          { file: CARD_FILE, size: file.size },
        );
      }
      const chunks: Buffer[] = [];
      for await (const c of (await this.deps.blobs.open(file.sha256)).stream) chunks.push(Buffer.from(c as Uint8Array));
      const text = Buffer.concat(chunks).toString('utf8');
      return { ...at, source: 'file', text, metadata: frontMatterOf(text) };
    }
    const evaluations = await tx.evaluations.listForVersion(model.id, version.version, { limit: CARD_EVALUATIONS });
    const text = generateCard({
      model: model.name,
      version: version.version,
      kind: model.kind,
      digest: version.digest,
      description: version.description,
      metadata: await this.withBaseModel(tx, model.kind, version),
      tags: version.tags,
      evaluations: evaluations.map((e) => ({ metrics: e.metrics, dataset: e.dataset, source: e.source, measured_at: isoTime(e.measured_at) })),
    });
    return { ...at, source: 'generated', text, metadata: frontMatterOf(text) };
  }

  /**
   * The Hub's `base_model` of an adapter or a bundle, when its metadata does not say: the
   * pinned base's upstream repo (`hf:org/name@…` → `org/name`), else the base's Berth name, which
   * is a repo id on Berth's own Hub front. An adapter is also marked `base_model_relation: adapter`.
   */
  private async withBaseModel(tx: StoreTx, kind: string, version: VersionRecord): Promise<Record<string, unknown>> {
    if (version.metadata.base_model !== undefined || (kind !== 'adapter' && kind !== 'bundle')) return version.metadata;
    for (const dep of version.dependencies) {
      const base = await tx.models.findByName(dep.model);
      if (base?.kind !== 'model') continue;
      const pinned = await requireVersion(tx, base, dep.version);
      const upstream = typeof pinned.metadata.upstream === 'string' ? parseUpstream(pinned.metadata.upstream) : undefined;
      return { ...version.metadata, base_model: upstream?.repo ?? dep.model, ...(kind === 'adapter' ? { base_model_relation: 'adapter' } : {}) };
    }
    return version.metadata;
  }

  /** Stores an edited card: its size and front matter are checked first (a refused edit changes nothing). */
  async set(actor: Actor, name: string, ref: string, text: string): Promise<Card> {
    requireRole(actor, 'editor', 'editing a model card', name);
    const { frontMatter } = parseCard(text);
    const { model, version } = await this.versions.resolveRecord(this.deps.store.read, versionRef(name, ref));
    await this.versions.update(actor, model.name, version.version, { metadata: { [CARD_METADATA_KEY]: text } });
    return { model: model.name, version: version.version, source: 'edited', text, metadata: frontMatter };
  }
}

/**
 * The front matter of a stored card. A README.md is immutable and a card set through a plain
 * metadata update was never checked, so unreadable front matter reads as none rather than
 * making the card unreadable.
 */
function frontMatterOf(text: string): Record<string, unknown> {
  try {
    return parseCard(text).frontMatter;
  } catch {
    return {};
  }
}
