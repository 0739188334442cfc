import {
  aliasProblem,
  commitIdOf,
  isCommitId,
  isDigest,
  MAX_CARD_BYTES,
  notFound,
  parseCard,
  validateFilePath,
  validateModelName,
  type ManifestFile,
} from '@berth/core';
import type { ModelRecord } from '../store/models.js';
import type { VersionRecord } from '../store/versions.js';
import type { StoreTx } from '../store/store.js';
import type { RegistryDeps } from './deps.js';

/** What a Hub read names as missing; the Hub front turns it into `X-Error-Code`. */
export type HubMissing = 'repo' | 'revision' | 'entry';

export interface HubCommit {
  model: ModelRecord;
  version: VersionRecord;
  /** The 40-hex commit id the revision resolved to (immutable, whatever the revision was). */
  commit: string;
}

export interface HubRefs {
  branches: { name: string; commit: string }[];
}

/** Versions read per statement when listing commits. */
const COMMIT_PAGE = 500;

/**
 * The registry as the Hugging Face Hub sees it (docs/decisions/0020): a repo is a model, a
 * commit a READY version, a revision a commit id, a digest, an alias, or `main` (the alias
 * `main` when set, else the latest version). Reads only; uploads are hub-commits.ts.
 */
/**
 * `main` without an alias of that name, for reads and commits alike: the latest READY version
 * the front can serve, skipping external ones (decision 0021).
 */
export async function latestServable(tx: StoreTx, model: ModelRecord): Promise<VersionRecord | undefined> {
  const v = await tx.versions.findLatest(model.id);
  if (!v || v.content_addressed) return v;
  let before = v.version;
  for (;;) {
    const page = await tx.versions.list(model.id, { before, limit: COMMIT_PAGE });
    const found = page.find((x) => x.status === 'READY' && x.content_addressed);
    const last = page.at(-1);
    if (found || !last || page.length < COMMIT_PAGE) return found;
    before = last.version;
  }
}

export class HubService {
  constructor(private readonly deps: RegistryDeps) {}

  private async model(tx: StoreTx, repo: string): Promise<ModelRecord> {
    validateModelName(repo);
    const m = await tx.models.findByName(repo);
    if (!m) throw notFound(`repository ${repo} not found: list models with \`berth ls\``, { model: repo, missing: 'repo' satisfies HubMissing });
    return m;
  }

  private async version(tx: StoreTx, model: ModelRecord, revision: string): Promise<VersionRecord | undefined> {
    if (isCommitId(revision)) {
      const v = await tx.versions.findByDigestPrefix(model.id, revision);
      if (v) return v;
    }
    if (isDigest(revision)) return tx.versions.findByDigest(model.id, revision);
    if (aliasProblem(revision) === undefined) {
      const a = await tx.aliases.find(model.id, revision);
      if (a) return tx.versions.find(model.id, a.version);
    }
    // The npm client asks for HEAD (git's name for the default branch) when no revision is given.
    if (revision === 'HEAD') return this.version(tx, model, 'main');
    if (revision === 'main') return latestServable(tx, model);
    return undefined;
  }

  async resolve(repo: string, revision: string): Promise<HubCommit> {
    const tx = this.deps.store.read;
    const model = await this.model(tx, repo);
    const version = await this.version(tx, model, revision);
    if (version?.status !== 'READY') {
      throw notFound(
        `revision ${JSON.stringify(revision)} of ${model.name} not found: give main, an alias (\`berth alias ls ${model.name}\`), a 40-hex commit id or a sha256: digest`,
        { model: model.name, revision, missing: 'revision' satisfies HubMissing },
      );
    }
    if (!version.content_addressed) {
      // Decision 0021: an external version has no files and no commit id that names content.
      throw notFound(
        `revision ${JSON.stringify(revision)} of ${model.name} is the external version ${version.version} (its files stay at ${version.external_uri}): the Hub front serves content-addressed versions only`,
        { model: model.name, revision, missing: 'revision' satisfies HubMissing },
      );
    }
    return { model, version, commit: commitIdOf(version.digest) };
  }

  async files(c: HubCommit): Promise<ManifestFile[]> {
    return this.deps.store.read.versions.files(c.version.id);
  }

  /** One file at a commit; EntryNotFound (with the commit, which the Python client caches the miss under) when absent. */
  async file(c: HubCommit, path: string): Promise<ManifestFile> {
    validateFilePath(path);
    const f = await this.deps.store.read.versions.file(c.version.id, path);
    if (!f) {
      throw notFound(`${c.model.name} has no file ${JSON.stringify(path)} at commit ${c.commit}`, {
        model: c.model.name,
        path,
        commit: c.commit,
        missing: 'entry' satisfies HubMissing,
      });
    }
    return f;
  }

  /** Branches: `main`, then every alias (aliases move, as branches do), by name. */
  async refs(repo: string): Promise<HubRefs> {
    const tx = this.deps.store.read;
    const model = await this.model(tx, repo);
    const aliases = await tx.aliases.listForModel(model.id);
    const branches: HubRefs['branches'] = [];
    if (!aliases.some((a) => a.alias === 'main')) {
      const latest = await latestServable(tx, model);
      if (latest) branches.push({ name: 'main', commit: commitIdOf(latest.digest) });
    }
    const sorted = [...aliases].sort((a, b) => (a.alias < b.alias ? -1 : 1));
    for (const a of sorted) {
      const v = await tx.versions.find(model.id, a.version);
      if (v?.content_addressed) branches.push({ name: a.alias, commit: commitIdOf(v.digest) });
    }
    return { branches };
  }

  /** The history of a commit: it and every older READY content-addressed version, newest first. */
  async history(c: HubCommit): Promise<VersionRecord[]> {
    const tx = this.deps.store.read;
    const out: VersionRecord[] = [];
    let before = c.version.version + 1;
    for (;;) {
      const page = await tx.versions.list(c.model.id, { before, limit: COMMIT_PAGE });
      out.push(...page.filter((v) => v.status === 'READY' && v.content_addressed));
      const last = page.at(-1);
      if (!last || page.length < COMMIT_PAGE) return out;
      before = last.version;
    }
  }

  /** The YAML front matter of README.md at a commit (the Hub's `cardData`); undefined when there is none or it does not parse. */
  async cardData(files: readonly ManifestFile[]): Promise<Record<string, unknown> | undefined> {
    const readme = files.find((f) => f.path === 'README.md');
    if (!readme || readme.size > MAX_CARD_BYTES) return undefined;
    const { stream } = await this.deps.blobs.open(readme.sha256);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    try {
      const { frontMatter } = parseCard(Buffer.concat(chunks).toString('utf8'));
      return Object.keys(frontMatter).length > 0 ? frontMatter : undefined;
    } catch {
      return undefined;
    }
  }
}
