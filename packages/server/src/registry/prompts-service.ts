import { invalid, renderPrompt, type Reference, type RenderedPrompt } from '@berth/core';
import type { RegistryDeps } from './deps.js';
import { readPrompt } from './prompt-rules.js';
import type { VersionService } from './versions-service.js';

/** Rendering prompt versions (docs/decisions/0018); their commit-time check is prompt-rules.ts. */
export class PromptService {
  constructor(
    private readonly deps: RegistryDeps,
    private readonly versions: VersionService,
  ) {}

  /** Fills the template of a prompt version with every variable it declares (and no other); a read, open to viewers. */
  async render(ref: Reference, variables: Readonly<Record<string, string>>): Promise<RenderedPrompt> {
    const tx = this.deps.store.read;
    const { model, version } = await this.versions.resolveRecord(tx, ref);
    if (model.kind !== 'prompt') {
      throw invalid(`${model.name} is a model of kind ${model.kind}, not prompt: only a prompt version renders`, { field: 'kind', kind: model.kind });
    }
    const stored = await readPrompt(this.deps.blobs, await tx.versions.files(version.id));
    const out = renderPrompt(stored.template, variables);
    return {
      model: model.name,
      version: version.version,
      digest: version.digest,
      format: out.format,
      ...(out.format === 'text' ? { text: out.text } : { messages: out.messages }),
      params: stored.params,
      examples: stored.examples,
    };
  }
}
