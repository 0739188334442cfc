import { Readable } from 'node:stream';
import {
  INLINE_BLOB_MAX_BYTES,
  MAX_PROMPT_FILE_BYTES,
  PROMPT_FILES,
  invalid,
  parseChatTemplate,
  sha256Hex,
  validateModelName,
  type ManifestFile,
} from '@berth/core';
import type { Actor } from './actor.js';
import type { RegistryDeps } from './deps.js';
import type { ModelView, VersionView } from './results.js';
import type { VersionService, UncheckedVersionCommit } from './versions-service.js';
import type { BlobService } from './blobs-service.js';

/**
 * MLflow's prompt registry keeps a prompt as a registered model tagged
 * `mlflow.prompt.is_prompt=true` and each template in a version tag (mlflow/prompt/constants.py,
 * `MlflowClient.register_prompt`). Berth keeps it as a model of kind `prompt` whose version holds
 * the template as a file (decision 0018), so these are the tags MLflow's client writes and reads.
 */
export const MLFLOW_PROMPT_TAGS = { isPrompt: 'mlflow.prompt.is_prompt', text: 'mlflow.prompt.text', type: '_mlflow_prompt_type' } as const;

/** The tags a prompt version's file decides; setting or deleting them through MLflow would contradict the file. */
const TEMPLATE_TAGS: readonly string[] = [MLFLOW_PROMPT_TAGS.text, MLFLOW_PROMPT_TAGS.type];

type MlflowVersionInput = Omit<UncheckedVersionCommit, 'files' | 'source' | 'blobs'> & { tags: Record<string, string> };

/** The kind a model created through MLflow gets: a prompt when MLflow's client marks it as one. */
export function mlflowModelKind(tags: Readonly<Record<string, string>>): 'prompt' | undefined {
  return tags[MLFLOW_PROMPT_TAGS.isPrompt] === 'true' ? 'prompt' : undefined;
}

/** A registered model's tags as MLflow reads them: a prompt says it is one even when `berth prompt push` created it. */
export function mlflowModelTags(m: Pick<ModelView, 'kind' | 'tags'>): Record<string, string> {
  return m.kind === 'prompt' ? { [MLFLOW_PROMPT_TAGS.isPrompt]: 'true', ...m.tags } : m.tags;
}

/**
 * A prompt version from the tags MLflow's client sends with create-model-version: the template
 * (`mlflow.prompt.text`) becomes `prompt.txt`, or `prompt.json` when `_mlflow_prompt_type` is
 * `chat` (the JSON text exactly as the client wrote it); every other tag stays a tag. The
 * template is not also kept as a tag: the file is its one copy, and it may be longer than a tag.
 */
export function promptVersionFromMlflowTags(tags: Readonly<Record<string, string>>): { path: string; bytes: Buffer; tags: Record<string, string> } {
  const { [MLFLOW_PROMPT_TAGS.text]: text, ...rest } = tags;
  if (text === undefined) {
    throw invalid(`a version of a prompt needs its template in tag ${MLFLOW_PROMPT_TAGS.text}: register it with mlflow.genai.register_prompt`, {
      field: 'tags',
    });
  }
  const type = tags[MLFLOW_PROMPT_TAGS.type] ?? 'text';
  if (type !== 'text' && type !== 'chat') throw invalid(`tag ${MLFLOW_PROMPT_TAGS.type} is ${JSON.stringify(type)}: use text or chat`, { field: 'tags' });
  const path = type === 'chat' ? PROMPT_FILES.chat : PROMPT_FILES.text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_PROMPT_FILE_BYTES) {
    throw invalid(`the prompt template is ${bytes.length} bytes; a prompt file holds at most ${MAX_PROMPT_FILE_BYTES}`, { field: 'tags' });
  }
  if (type === 'chat') parseChatTemplate(text);
  return { path, bytes, tags: rest };
}

/**
 * MLflow's create-model-version and its reads of prompt versions, onto the version services:
 * a prompt version is committed like any other (same checks, audit and events), with its
 * template as a file; reads put the template back into the tags MLflow's client expects.
 */
export class MlflowPromptService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly versions: VersionService,
    private readonly blobs: BlobService,
  ) {}

  private async isPrompt(name: string): Promise<boolean> {
    return (await this.deps.store.read.models.findByName(validateModelName(name)))?.kind === 'prompt';
  }

  /**
   * A version of a prompt holds its template; any other model's version is the artifacts under
   * `source` (MLflow's client sends the placeholder `dummy-source` for prompts).
   */
  async createModelVersion(actor: Actor, name: string, source: string, input: MlflowVersionInput): Promise<VersionView> {
    if (!(await this.isPrompt(name))) return this.versions.createFromArtifacts(actor, name, source, input);
    const { path, bytes, tags } = promptVersionFromMlflowTags(input.tags);
    const sha256 = sha256Hex(bytes);
    const files: ManifestFile[] = [{ path, size: bytes.length, sha256 }];
    // Inline blobs are stored only once the whole version is known valid; a longer template
    // (MLflow allows 100,000 characters) is stored first, as a bundle's manifest is.
    const inline = bytes.length <= INLINE_BLOB_MAX_BYTES;
    if (!inline) await this.blobs.put(actor, sha256, Readable.from([bytes]), bytes.length);
    const commit = { ...input, tags, source, files, createModel: false, kind: 'prompt' as const };
    const { version } = await this.versions.commit(actor, name, inline ? { ...commit, blobs: [{ sha256, base64: bytes.toString('base64') }] } : commit);
    return (await this.withTemplateTags([version]))[0] as VersionView;
  }

  /** Refuses an MLflow tag change that would contradict a prompt version's template file. */
  async checkVersionTag(name: string, key: string): Promise<void> {
    if (TEMPLATE_TAGS.includes(key) && (await this.isPrompt(name))) {
      throw invalid(`tag ${key} of a prompt version is read from its template file, which never changes: register a new version instead`, {
        field: 'key',
      });
    }
  }

  /**
   * Versions as MLflow's prompt client reads them: a prompt's versions carry the prompt tags,
   * the template read from its file. Other versions are returned as they are.
   */
  async withTemplateTags(views: VersionView[]): Promise<VersionView[]> {
    const read = this.deps.store.read;
    const kinds = new Map<string, string | undefined>();
    for (const name of new Set(views.map((v) => v.model))) kinds.set(name, (await read.models.findByName(name))?.kind);
    return Promise.all(
      views.map(async (v) => {
        if (kinds.get(v.model) !== 'prompt') return v;
        const files = v.files ?? (await read.versions.files(v.id));
        const file = files.find((f) => f.path === PROMPT_FILES.text || f.path === PROMPT_FILES.chat);
        // A file over the prompt limit is no template the commit rules accepted: shown as it is.
        if (!file || file.size > MAX_PROMPT_FILE_BYTES) return v;
        const type = file.path === PROMPT_FILES.chat ? 'chat' : 'text';
        const text = await this.readText(file);
        return { ...v, tags: { [MLFLOW_PROMPT_TAGS.isPrompt]: 'true', ...v.tags, [MLFLOW_PROMPT_TAGS.type]: type, [MLFLOW_PROMPT_TAGS.text]: text } };
      }),
    );
  }

  private async readText(file: ManifestFile): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of (await this.blobs.open(file.sha256)).stream) chunks.push(Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks).toString('utf8');
  }
}
