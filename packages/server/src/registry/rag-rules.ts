import { RAG_CONFIG_FILES, invalid, notFound, parseEmbeddingPin, parseRagConfig, type Dependency } from '@berth/core';
import { requireModel, requireVersion, type RegistryDeps } from './deps.js';
import type { CheckedVersion } from './version-fields.js';

/** Largest RAG configuration read at commit: a few keys of YAML. */
export const MAX_RAG_CONFIG_BYTES = 64 * 1024;

const NAMES: readonly string[] = RAG_CONFIG_FILES;

/**
 * A version of a `rag-config` model (decision 0018), whichever front commits it: exactly one
 * configuration file of RAG_CONFIG_FILES and nothing beside it, parsed by core's
 * parseRagConfig; its embedding model pin (`name:N` or `name@sha256:…`) becomes the version's
 * dependency, so lineage shows it and the delete guard keeps it, and `metadata.rag` records what
 * the configuration says. Read before the transaction (the blob and the pinned version, immutable
 * by digest, are outside it); the transaction checks the pin again.
 */
export async function withRagConfig(deps: RegistryDeps, name: string, kind: string | undefined, checked: CheckedVersion): Promise<CheckedVersion> {
  const read = deps.store.read;
  if (((await read.models.findByName(name))?.kind ?? kind) !== 'rag-config') return checked;
  const others = checked.files.filter((f) => !NAMES.includes(f.path));
  if (others.length > 0)
    throw invalid(`a rag-config version holds only its configuration (${NAMES.join(', ')}); ${others.map((f) => f.path).join(', ')} cannot be beside it`, {
      field: 'files',
      files: others.map((f) => f.path),
    });
  const [file, ...more] = checked.files;
  if (!file) throw invalid(`a rag-config version holds one of ${NAMES.join(', ')}`, { field: 'files' });
  if (more.length > 0)
    throw invalid(`a rag-config version holds one configuration file, not ${checked.files.map((f) => f.path).join(' and ')}`, { field: 'files' });
  if (file.size > MAX_RAG_CONFIG_BYTES)
    throw invalid(`${file.path} is ${file.size} bytes; a RAG configuration is at most ${MAX_RAG_CONFIG_BYTES}`, { field: file.path });
  const chunks: Buffer[] = [];
  for await (const c of (await deps.blobs.open(file.sha256)).stream) chunks.push(Buffer.from(c as Uint8Array));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw invalid(`${file.path} is not UTF-8 text`, { field: file.path });
  }
  const config = parseRagConfig(text, file.path);
  const pin = parseEmbeddingPin(config.embedding_model);
  const model = await requireModel(read, pin.name);
  if (model.kind !== 'model')
    throw invalid(`embedding_model ${config.embedding_model} is a version of ${model.name}, of kind ${model.kind}; an embedding model is of kind model`, {
      field: 'embedding_model',
    });
  const version = 'version' in pin ? await requireVersion(read, model, pin.version) : await read.versions.findByDigest(model.id, pin.digest);
  if (!version) throw notFound(`embedding_model ${config.embedding_model}: no version of ${model.name} has that digest`, { model: model.name });
  const embedding: Dependency = { model: model.name, version: version.version, digest: version.digest };
  const given = checked.dependencies.filter((d) => d.model !== embedding.model || d.version !== embedding.version || d.digest !== embedding.digest);
  return {
    ...checked,
    dependencies: [embedding, ...given],
    metadata: {
      ...checked.metadata,
      rag: { index: config.index, embedding_model: `${embedding.model}:${embedding.version}@${embedding.digest}`, top_k: config.retriever.top_k },
    },
  };
}
