import { BUNDLE_MANIFEST_PATH, BerthError, manifestDigest, type BundleComponent, type BundleManifest, type Version } from '@berth/core';
import type { BerthClient } from '../index.js';
import { pullVersion, type PullOptions } from './pull.js';

export interface BundlePullResult {
  manifest: BundleManifest;
  /** Each component's folder under the output, and the bytes pulled for it. */
  components: { folder: string; model: string; version: number; digest: string; downloaded_bytes: number; reused_bytes: number }[];
}

/**
 * Where each component goes, the layout vLLM, TGI and PEFT read: `base/`, one folder per adapter
 * under `adapters/` (holding its adapter_config.json), `prompt/`, `rag/`, and berth-bundle.json
 * at the top (docs/decisions/0017).
 */
function bundleLayout(m: BundleManifest): { folder: string; component: BundleComponent }[] {
  const out = [{ folder: 'base', component: m.base }, ...m.adapters.map((a) => ({ folder: `adapters/${a.model.replace('/', '--')}`, component: a }))];
  if (m.prompt) out.push({ folder: 'prompt', component: m.prompt });
  if (m.rag) out.push({ folder: 'rag', component: m.rag });
  return out;
}

/**
 * Pulls a bundle version (already resolved, with its files) and every component it pins into
 * `outDir`, each through pullVersion (every file's sha256 verified, memory flat). A component
 * whose manifest on the server no longer has the pinned digest is refused before its bytes.
 */
export async function pullBundle(client: BerthClient, bundle: Version, outDir: string, opts: PullOptions = {}): Promise<BundlePullResult> {
  const res = await client.openFile(bundle.model, bundle.version, BUNDLE_MANIFEST_PATH);
  const manifest = JSON.parse(await res.text()) as BundleManifest;
  const components: BundlePullResult['components'] = [];
  for (const { folder, component } of bundleLayout(manifest)) {
    const v = await client.getVersion(component.model, component.version);
    if (v.digest !== component.digest || manifestDigest(component.files) !== component.digest) {
      throw new BerthError('FAILED_PRECONDITION', `${component.model}:${component.version} has digest ${v.digest}, but the bundle pins ${component.digest}`, {
        component: `${component.model}:${component.version}`,
      });
    }
    const r = await pullVersion(client, v, `${outDir}/${folder}`, opts);
    components.push({ folder, model: v.model, version: v.version, digest: v.digest, downloaded_bytes: r.downloaded_bytes, reused_bytes: r.reused_bytes });
  }
  // The manifest last, verified like any file: its presence says the tree is complete.
  await pullVersion(client, bundle, outDir, opts);
  return { manifest, components };
}
