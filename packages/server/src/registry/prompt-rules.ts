import {
  MAX_PROMPT_FILE_BYTES,
  PROMPT_FILES,
  invalid,
  parseChatTemplate,
  parsePromptExamples,
  parsePromptParams,
  promptVariables,
  type ManifestFile,
  type PromptFacts,
  type PromptTemplate,
} from '@berth/core';
import type { BlobStore } from '../blobs/blob-store.js';
import type { RegistryDeps } from './deps.js';

/** A prompt version's files as read and checked: the template, its few-shot examples and model parameters. */
export interface StoredPrompt {
  template: PromptTemplate;
  examples: unknown[];
  params: Record<string, unknown>;
}

const NAMES: readonly string[] = Object.values(PROMPT_FILES);

/** Which file is which; names and sizes are checked before any byte is read. */
function promptFiles(files: readonly ManifestFile[]): { template: ManifestFile; examples?: ManifestFile; params?: ManifestFile } {
  for (const f of files) {
    if (!NAMES.includes(f.path)) {
      throw invalid(`a prompt version holds only ${NAMES.join(', ')}; ${f.path} is not one of them`, { field: 'files', path: f.path });
    }
    if (f.size > MAX_PROMPT_FILE_BYTES)
      throw invalid(`${f.path} is ${f.size} bytes; a prompt file is at most ${MAX_PROMPT_FILE_BYTES} bytes`, { field: 'files', path: f.path });
  }
  const byName = new Map(files.map((f) => [f.path, f]));
  const text = byName.get(PROMPT_FILES.text);
  const chat = byName.get(PROMPT_FILES.chat);
  if (text && chat) {
    throw invalid(`a prompt version holds one template: ${PROMPT_FILES.text} (text) or ${PROMPT_FILES.chat} (chat), not both`, {
      field: 'files',
      path: PROMPT_FILES.chat,
    });
  }
  const template = text ?? chat;
  if (!template) throw invalid(`a prompt version holds its template as ${PROMPT_FILES.text} (text) or ${PROMPT_FILES.chat} (chat)`, { field: 'files' });
  const examples = byName.get(PROMPT_FILES.examples);
  const params = byName.get(PROMPT_FILES.params);
  return { template, ...(examples ? { examples } : {}), ...(params ? { params } : {}) };
}

/** A small blob as UTF-8 text; the cap holds even if the store's copy were longer than the manifest says. */
async function readText(blobs: BlobStore, f: ManifestFile): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of (await blobs.open(f.sha256)).stream) {
    const chunk = c as Uint8Array;
    total += chunk.length;
    if (total > MAX_PROMPT_FILE_BYTES) throw invalid(`${f.path} is over ${MAX_PROMPT_FILE_BYTES} bytes`, { field: 'files', path: f.path });
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw invalid(`${f.path} is not UTF-8 text`, { field: 'files', path: f.path });
  }
}

/**
 * Reads a prompt version's files with core's rules (docs/decisions/0018): exactly one template,
 * chat templates parsed, examples naming only declared variables, parameters one flat object.
 */
export async function readPrompt(blobs: BlobStore, files: readonly ManifestFile[]): Promise<StoredPrompt> {
  const f = promptFiles(files);
  const source = await readText(blobs, f.template);
  const template: PromptTemplate = f.template.path === PROMPT_FILES.chat ? parseChatTemplate(source) : { format: 'text', text: source };
  const examples = f.examples ? parsePromptExamples(await readText(blobs, f.examples), promptVariables(template)) : [];
  const params = f.params ? parsePromptParams(await readText(blobs, f.params)) : {};
  return { template, examples, params };
}

/**
 * A version of a `prompt` model is checked at commit whichever front committed it; what its
 * template declares is returned as `{ prompt }`, to be merged into the version's metadata
 * (nothing for another kind). Read before the transaction, like the adapter check: blobs are
 * outside it.
 */
export async function promptFacts(
  deps: RegistryDeps,
  name: string,
  kind: string | undefined,
  files: readonly ManifestFile[],
): Promise<{ prompt?: PromptFacts }> {
  // Another kind given for an existing prompt model is refused by the commit itself.
  if (kind !== undefined && kind !== 'prompt') return {};
  if (((await deps.store.read.models.findByName(name))?.kind ?? kind) !== 'prompt') return {};
  const { template } = await readPrompt(deps.blobs, files);
  return { prompt: { format: template.format, variables: promptVariables(template) } };
}
