import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BerthError, invalid } from '@berth/core';
import { nodeBody } from '@berth/sdk/node';

type KeyValue = { key: string; value: string };

export interface MlflowModel {
  name: string;
  description: string;
  tags: Record<string, string>;
  /** alias → MLflow version number. */
  aliases: Record<string, number>;
}

export interface MlflowVersion {
  name: string;
  version: number;
  description: string;
  source: string;
  run_id: string | null;
  stage: string;
  status: string;
  tags: Record<string, string>;
}

export interface MlflowRun {
  run_id: string;
  run_name: string | null;
  experiment_id: string;
  status: string;
  artifact_uri: string;
  params: Record<string, string>;
  metrics: { key: string; value: number; timestamp: number; step: number }[];
  tags: Record<string, string>;
}

/** One file under a version's artifact folder: its path relative to that folder, and the size MLflow lists. */
export interface MlflowFile {
  path: string;
  size: number;
}

const pairs = (list: KeyValue[] | undefined): Record<string, string> => Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

/**
 * A running MLflow server read through its REST API, the calls its own client makes: the
 * registry search endpoints, runs/get, logged-models/get, and the `mlflow-artifacts` proxy
 * (`mlflow server --serve-artifacts`) for the bytes. Every failure names the server and what
 * was being read, so an import that stops says where.
 */
export class MlflowSource {
  readonly url: string;

  constructor(
    url: string,
    private readonly fetchImpl: typeof fetch,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`--from ${JSON.stringify(url)} is not a URL: give the MLflow server's address, e.g. http://mlflow.internal:5000`, { field: 'from' });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw invalid(`--from ${JSON.stringify(url)} is not an http(s) URL: give the MLflow server's address, e.g. http://mlflow.internal:5000`, {
        field: 'from',
      });
    }
    this.url = url.replace(/\/+$/, '');
  }

  private async request(path: string, what: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.url}${path}`);
    } catch (err) {
      const own = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = own.cause?.code ?? own.code ?? own.cause?.message ?? own.message;
      throw new BerthError(
        'FAILED_PRECONDITION',
        `the MLflow server at ${this.url} did not answer while ${what} (${why}): what was imported so far is complete; run the same command again to finish`,
        { from: this.url, cause: why },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text.slice(0, 300);
      try {
        const body = JSON.parse(text) as { message?: string; error_code?: string };
        if (body.message) message = `${body.error_code ?? res.status}: ${body.message}`;
      } catch {
        // not JSON: the start of the body says enough
      }
      const code = res.status === 404 ? 'NOT_FOUND' : res.status === 401 || res.status === 403 ? 'PERMISSION_DENIED' : 'FAILED_PRECONDITION';
      throw new BerthError(code, `the MLflow server at ${this.url} answered ${res.status} while ${what}: ${message}`, { from: this.url, status: res.status });
    }
    return res;
  }

  private async json<T>(path: string, what: string): Promise<T> {
    const res = await this.request(path, what);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BerthError('FAILED_PRECONDITION', `${this.url} answered ${what} with something that is not JSON: is --from an MLflow server?`, {
        from: this.url,
      });
    }
  }

  /** Every registered model, page by page. */
  async models(): Promise<MlflowModel[]> {
    const out: MlflowModel[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ max_results: '1000', ...(token ? { page_token: token } : {}) });
      const page = await this.json<{
        registered_models?: { name: string; description?: string; tags?: KeyValue[]; aliases?: { alias: string; version: string }[] }[];
        next_page_token?: string;
      }>(`/api/2.0/mlflow/registered-models/search?${q}`, 'listing registered models');
      for (const m of page.registered_models ?? []) {
        out.push({
          name: m.name,
          description: m.description ?? '',
          tags: pairs(m.tags),
          aliases: Object.fromEntries((m.aliases ?? []).map((a) => [a.alias, Number(a.version)])),
        });
      }
      token = page.next_page_token || undefined;
    } while (token);
    return out;
  }

  /** Every version of one model, oldest first. */
  async versions(model: string): Promise<MlflowVersion[]> {
    const out: MlflowVersion[] = [];
    let token: string | undefined;
    const filter = `name='${model.replaceAll("'", "\\'")}'`;
    do {
      const q = new URLSearchParams({ filter, max_results: '1000', ...(token ? { page_token: token } : {}) });
      const page = await this.json<{
        model_versions?: {
          name: string;
          version: string;
          description?: string;
          source?: string;
          run_id?: string;
          current_stage?: string;
          status?: string;
          tags?: KeyValue[];
        }[];
        next_page_token?: string;
      }>(`/api/2.0/mlflow/model-versions/search?${q}`, `listing the versions of ${model}`);
      for (const v of page.model_versions ?? []) {
        out.push({
          name: v.name,
          version: Number(v.version),
          description: v.description ?? '',
          source: v.source ?? '',
          run_id: v.run_id || null,
          stage: v.current_stage ?? 'None',
          status: v.status ?? 'READY',
          tags: pairs(v.tags),
        });
      }
      token = page.next_page_token || undefined;
    } while (token);
    return out.sort((a, b) => a.version - b.version);
  }

  async run(id: string): Promise<MlflowRun> {
    const { run } = await this.json<{
      run: {
        info: { run_id: string; run_name?: string; experiment_id: string; status?: string; artifact_uri?: string };
        data: { params?: KeyValue[]; metrics?: { key: string; value: number; timestamp: number; step?: number }[]; tags?: KeyValue[] };
      };
    }>(`/api/2.0/mlflow/runs/get?${new URLSearchParams({ run_id: id })}`, `reading run ${id}`);
    return {
      run_id: run.info.run_id,
      run_name: run.info.run_name ?? null,
      experiment_id: run.info.experiment_id,
      status: run.info.status ?? 'FINISHED',
      artifact_uri: run.info.artifact_uri ?? '',
      params: pairs(run.data.params),
      metrics: (run.data.metrics ?? []).map((m) => ({ key: m.key, value: Number(m.value), timestamp: m.timestamp, step: m.step ?? 0 })),
      tags: pairs(run.data.tags),
    };
  }

  async experimentName(id: string): Promise<string> {
    const { experiment } = await this.json<{ experiment: { name: string } }>(
      `/api/2.0/mlflow/experiments/get?${new URLSearchParams({ experiment_id: id })}`,
      `reading experiment ${id}`,
    );
    return experiment.name;
  }

  /**
   * Where the server keeps a version's files, as a path under its artifact proxy, or undefined
   * when the source is a store the server does not proxy (s3://, gs://, a local file: path…).
   * `runs:/ID/PATH` is the run's artifact folder plus PATH; `models:/m-…` a logged model's folder.
   */
  async artifactPath(source: string, what: string): Promise<string | undefined> {
    const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
    if (runs) {
      const run = await this.run(runs[1] as string);
      const root = proxied(run.artifact_uri);
      return root === undefined ? undefined : joinPath(root, runs[2] ?? '');
    }
    const logged = /^models:\/(m-[0-9a-f]+)\/?$/.exec(source);
    if (logged) {
      const { model } = await this.json<{ model: { info: { artifact_uri?: string } } }>(
        `/api/2.0/mlflow/logged-models/${logged[1]}`,
        `reading logged model ${logged[1]} (${what})`,
      );
      return proxied(model.info.artifact_uri ?? '');
    }
    return proxied(source);
  }

  /** Every file under an artifact folder, recursively, with the sizes MLflow lists. */
  async files(root: string, what: string): Promise<MlflowFile[]> {
    const out: MlflowFile[] = [];
    const walk = async (rel: string): Promise<void> => {
      const q = new URLSearchParams({ path: joinPath(root, rel) });
      const { files } = await this.json<{ files?: { path: string; is_dir?: boolean; file_size?: number | string }[] }>(
        `/api/2.0/mlflow-artifacts/artifacts?${q}`,
        `listing the files of ${what}`,
      );
      for (const f of files ?? []) {
        const name = f.path.split('/').pop() as string;
        const path = rel ? `${rel}/${name}` : name;
        if (f.is_dir) await walk(path);
        else out.push({ path, size: Number(f.file_size ?? 0) });
      }
    };
    await walk('');
    return out;
  }

  /** Streams one artifact to `dest` and checks it has the size MLflow listed. */
  async download(root: string, file: MlflowFile, dest: string, what: string): Promise<void> {
    const path = joinPath(root, file.path).split('/').map(encodeURIComponent).join('/');
    const res = await this.request(`/api/2.0/mlflow-artifacts/artifacts/${path}`, `downloading ${file.path} of ${what}`);
    await mkdir(dirname(dest), { recursive: true });
    let got = 0;
    const body = nodeBody(res);
    body.on('data', (chunk: Buffer) => {
      got += chunk.length;
    });
    try {
      await pipeline(body, createWriteStream(dest));
    } catch (err) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `the MLflow server at ${this.url} stopped sending ${file.path} of ${what} (${(err as Error).message}): what was imported so far is complete; run the same command again to finish`,
        { from: this.url },
      );
    }
    if (got !== file.size) {
      throw new BerthError('FAILED_PRECONDITION', `${file.path} of ${what} is ${got} bytes, but the MLflow server lists ${file.size}: run the import again`, {
        from: this.url,
        path: file.path,
      });
    }
  }
}

/** `mlflow-artifacts:/1/abc/artifacts` (or with `//host:port`) → `1/abc/artifacts`; any other scheme → undefined. */
function proxied(uri: string): string | undefined {
  if (!uri.startsWith('mlflow-artifacts:')) return undefined;
  const rest = uri.slice('mlflow-artifacts:'.length);
  const path = rest.startsWith('//') ? rest.slice(2).replace(/^[^/]*/, '') : rest;
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

function joinPath(a: string, b: string): string {
  return [a, b].filter((s) => s !== '').join('/');
}

/** A path inside `dir` for an artifact path MLflow listed; a listing that climbs out is refused. */
export function localPath(dir: string, path: string): string {
  if (path.split('/').some((s) => s === '..' || s === '') || path.startsWith('/')) {
    throw new BerthError('FAILED_PRECONDITION', `the MLflow server listed an artifact path ${JSON.stringify(path)} that is not a plain relative path`, {
      path,
    });
  }
  return join(dir, path);
}
