import { commitIdOf, hubFileEntry, type HubTreeEntry, type ManifestFile } from '@berth/core';
import type { HubCommit } from '../../registry/hub-service.js';

/** ISO-8601 UTC with `Z`: huggingface_hub's date parser requires it. */
const iso = (ms: number) => new Date(ms).toISOString();

/** `siblings[]` of model_info: `lfs.sha256` here where the tree API says `lfs.oid` (the Hub's own difference). */
function sibling(f: ManifestFile) {
  const e = hubFileEntry(f) as Extract<HubTreeEntry, { type: 'file' }>;
  return { rfilename: f.path, size: f.size, blobId: e.oid, lfs: { sha256: f.sha256, size: f.size, pointerSize: e.lfs.pointerSize } };
}

const stringsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/** model_info / repo_info (huggingface_hub `ModelInfo`): the fields the clients read, Hub-named. */
export function modelInfo(c: HubCommit, files: readonly ManifestFile[], cardData: Record<string, unknown> | undefined) {
  const [author] = c.model.name.split('/');
  const card = cardData ?? {};
  return {
    _id: c.commit,
    id: c.model.name,
    modelId: c.model.name,
    author,
    sha: c.commit,
    lastModified: iso(c.version.created_at),
    createdAt: iso(c.model.created_at),
    private: false,
    gated: false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: stringsOf(card.tags),
    ...(typeof card.library_name === 'string' ? { library_name: card.library_name } : {}),
    ...(typeof card.pipeline_tag === 'string' ? { pipeline_tag: card.pipeline_tag } : {}),
    ...(cardData ? { cardData } : {}),
    siblings: files.map(sibling),
  };
}

/** One entry of list_repo_commits: the version's description is the commit message, its first line the title. */
export function commitEntry(v: HubCommit['version']) {
  const message = v.description ?? '';
  const title = message.split('\n', 1)[0]?.trim() || `version ${v.version}`;
  return { id: commitIdOf(v.digest), title, message, authors: [{ user: v.created_by, avatar: null }], date: iso(v.created_at) };
}
