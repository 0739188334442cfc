import { invalid, type Dependency } from '@berth/core';

/** A dependency once found: the pinned model's kind, and what the pinned version pins itself. */
export type CheckedPin = Dependency & { model_id: number; kind: string; pins: Dependency[] };

const at = (d: Dependency) => `${d.model}:${d.version}`;

/**
 * The pin rules of the kinds (DESIGN §2 "LLM bundles", docs/decisions/0017), for every front
 * that commits a version: an adapter pins exactly one base (a version of kind `model`); a
 * bundle pins one base, adapters that each pin that same base, at most one prompt and one
 * RAG config, and nothing else; a RAG config pins exactly its embedding model (a version of kind
 * `model`, decision 0018). Other kinds pin freely.
 */
export function checkPins(name: string, kind: string, pins: readonly CheckedPin[]): void {
  if (kind === 'adapter') {
    const [base, ...more] = pins;
    if (!base || more.length > 0 || base.kind !== 'model') {
      throw invalid(
        `an adapter pins exactly one base, a version of kind model (berth push --kind adapter --base <model>:<N>); ${name} pins ${
          pins.length ? pins.map((p) => `${at(p)} (${p.kind})`).join(', ') : 'nothing'
        }`,
        { field: 'dependencies' },
      );
    }
    return;
  }
  if (kind === 'rag-config') {
    const [embedding, ...more] = pins;
    if (!embedding || more.length > 0 || embedding.kind !== 'model')
      throw invalid(
        `a rag-config pins exactly its embedding model, a version of kind model; ${name} pins ${
          pins.length ? pins.map((p) => `${at(p)} (${p.kind})`).join(', ') : 'nothing'
        }`,
        {
          field: 'dependencies',
        },
      );
    return;
  }
  if (kind !== 'bundle') return;
  const bases = pins.filter((p) => p.kind === 'model');
  const [base] = bases;
  if (!base || bases.length > 1) {
    throw invalid(`a bundle pins exactly one base (a version of kind model); ${name} pins ${bases.length ? bases.map(at).join(', ') : 'none'}`, {
      field: 'base',
    });
  }
  for (const role of ['prompt', 'rag-config']) {
    const some = pins.filter((p) => p.kind === role);
    if (some.length > 1) throw invalid(`a bundle pins at most one ${role}; ${name} pins ${some.map(at).join(', ')}`, { field: role });
  }
  for (const p of pins) {
    if (!['model', 'adapter', 'prompt', 'rag-config'].includes(p.kind))
      throw invalid(`a bundle pins a base, adapters, a prompt and a RAG config; ${at(p)} is a ${p.kind}`, { field: 'dependencies', pin: at(p) });
    if (p.kind !== 'adapter') continue;
    const own = p.pins[0];
    if (!own || own.model !== base.model || own.version !== base.version) {
      throw invalid(`adapter ${at(p)} is trained on ${own ? at(own) : 'no recorded base'}, not on the bundle's base ${at(base)}`, {
        field: 'adapters',
        adapter: at(p),
        adapter_base: own ? at(own) : null,
        base: at(base),
      });
    }
  }
}
