/**
 * The real npm client `@huggingface/hub` against the real `berth server` with auth on
 * (shared/reference/hf-hub.md; decision 0020). The Python half of this suite is pytest beside it.
 * The JS client takes the Hub's URL as `hubUrl` and refuses tokens without the `hf_` prefix
 * before sending anything, so every call here carries a Berth token as issued.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { commit, createRepo, downloadFile, fileDownloadInfo, HubApiError, listCommits, listFiles, modelInfo, uploadFiles } from '@huggingface/hub';
import { berth, startBerth, tempDir, type ServerHandle } from '../../support.js';

const REPO = 'team/chatbot';
const CONFIG_V1 = JSON.stringify({ model_type: 'gpt2', n_layer: 2 });
const CONFIG_V2 = JSON.stringify({ model_type: 'gpt2', n_layer: 4 });
const VOCAB = 'a\nb\nc\n';
// Over 10 MiB, the size from which the Hub stores a file in LFS.
const BIG = randomBytes(11 * 1024 * 1024);
const V1: Record<string, string | Buffer> = { 'config.json': CONFIG_V1, 'model.safetensors': BIG, 'tokenizer/vocab.txt': VOCAB };
const V2: Record<string, string | Buffer> = { 'config.json': CONFIG_V2, 'model.safetensors': BIG };

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const bytes = async (blob: Blob | null) => {
  assert.ok(blob, 'the file exists');
  return Buffer.from(await blob.arrayBuffer());
};

/** Fails unless `fn` rejects with the client's HubApiError carrying `status`; returns it. */
async function hubError(fn: () => Promise<unknown>, status: number): Promise<HubApiError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof HubApiError, `expected a HubApiError, got ${err}`);
    assert.equal(err.statusCode, status, err.message);
    return err;
  }
  assert.fail(`expected a HubApiError with status ${status}`);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('@huggingface/hub (npm) against the Hub front', () => {
  let server: ServerHandle;
  let dir: string;
  let cleanup: () => Promise<void>;
  let reader = '';
  let editor = '';
  /** Commit ids computed from `berth show`'s digests, not from the Hub front. */
  let champion = '';
  let main = '';
  const hub = () => ({ hubUrl: server.url, accessToken: reader });

  before(async () => {
    ({ dir, cleanup } = await tempDir('berth-hub-js-'));
    const data = join(dir, 'data');
    // The first tokens are made on loopback before auth is switched on, as an admin does.
    const open = await startBerth(data);
    const cli = async (...args: string[]) => {
      const r = await berth(args, { url: open.url, cwd: dir });
      assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    try {
      reader = await cli('token', 'create', 'js-reader', '--role', 'viewer');
      editor = await cli('token', 'create', 'js-editor', '--role', 'editor');
      for (const [n, files] of [V1, V2].entries()) {
        const src = join(dir, `src${n + 1}`);
        for (const [path, content] of Object.entries(files)) {
          await mkdir(dirname(join(src, path)), { recursive: true });
          await writeFile(join(src, path), content);
        }
        await cli('push', src, '--model', REPO, '--description', `version ${n + 1} of the chatbot`);
      }
      await cli('alias', 'set', REPO, 'champion', '1');
      const commitOf = async (ref: string) => (JSON.parse(await cli('show', ref, '--json')) as { digest: string }).digest.slice('sha256:'.length, 47);
      champion = await commitOf(`${REPO}:1`);
      main = await commitOf(`${REPO}:2`);
    } finally {
      await open.stop();
    }
    server = await startBerth(data, ['--auth']);
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('issues tokens the client accepts (hf_ prefix) and refuses a call without one', async () => {
    assert.match(reader, /^hf_/);
    assert.match(editor, /^hf_/);
    await hubError(() => downloadFile({ repo: REPO, path: 'config.json', hubUrl: server.url }), 401);
  });

  it('downloadFile at main, at an alias and at an exact commit returns the exact bytes', async () => {
    assert.equal((await bytes(await downloadFile({ ...hub(), repo: REPO, path: 'config.json' }))).toString(), CONFIG_V2);
    assert.equal((await bytes(await downloadFile({ ...hub(), repo: REPO, path: 'config.json', revision: 'champion' }))).toString(), CONFIG_V1);
    assert.equal((await bytes(await downloadFile({ ...hub(), repo: REPO, path: 'tokenizer/vocab.txt', revision: champion }))).toString(), VOCAB);
    const big = await bytes(await downloadFile({ ...hub(), repo: REPO, path: 'model.safetensors', revision: main }));
    assert.equal(big.length, BIG.length);
    assert.ok(big.equals(BIG), 'the LFS-sized file is byte-identical');
  });

  it('reads a slice of a file with a Range request (Blob.slice)', async () => {
    const blob = await downloadFile({ ...hub(), repo: REPO, path: 'model.safetensors' });
    assert.ok(blob);
    assert.equal(blob.size, BIG.length);
    const slice = Buffer.from(await blob.slice(5_000_000, 5_000_100).arrayBuffer());
    assert.ok(slice.equals(BIG.subarray(5_000_000, 5_000_100)));
  });

  it('fileDownloadInfo gives the size and the sha256 etag, never Xet', async () => {
    const info = await fileDownloadInfo({ ...hub(), repo: REPO, path: 'model.safetensors', revision: 'champion' });
    assert.ok(info);
    assert.equal(info.size, BIG.length);
    assert.equal(info.etag.replaceAll('"', ''), sha256(BIG));
    assert.equal(info.xet, undefined);
    assert.equal(info.url, `${server.url}/${REPO}/resolve/champion/model.safetensors`);
    const small = await fileDownloadInfo({ ...hub(), repo: REPO, path: 'config.json', revision: main });
    assert.equal(small?.size, CONFIG_V2.length);
    assert.equal(small?.etag.replaceAll('"', ''), sha256(CONFIG_V2));
  });

  it('listFiles lists the tree, recursively or one folder', async () => {
    const all = await collect(listFiles({ ...hub(), repo: REPO, revision: 'champion', recursive: true }));
    assert.deepEqual(all.map((e) => [e.path, e.type]).sort(), [
      ['config.json', 'file'],
      ['model.safetensors', 'file'],
      ['tokenizer', 'directory'],
      ['tokenizer/vocab.txt', 'file'],
    ]);
    const big = all.find((e) => e.path === 'model.safetensors');
    assert.equal(big?.size, BIG.length);
    assert.equal(big?.lfs?.oid, sha256(BIG));
    assert.equal(big?.xetHash, undefined);
    const top = await collect(listFiles({ ...hub(), repo: REPO, revision: champion }));
    assert.deepEqual(top.map((e) => e.path).sort(), ['config.json', 'model.safetensors', 'tokenizer']);
    const folder = await collect(listFiles({ ...hub(), repo: REPO, revision: 'champion', path: 'tokenizer' }));
    assert.deepEqual(
      folder.map((e) => e.path),
      ['tokenizer/vocab.txt'],
    );
    const atMain = await collect(listFiles({ ...hub(), repo: REPO, recursive: true }));
    assert.deepEqual(atMain.map((e) => e.path).sort(), Object.keys(V2).sort());
  });

  it('modelInfo names the repo and its files, at the default revision and at an alias', async () => {
    const info = await modelInfo({ ...hub(), name: REPO, additionalFields: ['sha', 'filePaths'] });
    assert.equal(info.name, REPO);
    assert.equal(info.sha, main);
    assert.deepEqual([...info.filePaths].sort(), Object.keys(V2).sort());
    assert.ok(!Number.isNaN(info.updatedAt.getTime()), 'lastModified is a date');
    const old = await modelInfo({ ...hub(), name: REPO, revision: 'champion', additionalFields: ['sha', 'filePaths'] });
    assert.equal(old.sha, champion);
    assert.deepEqual([...old.filePaths].sort(), Object.keys(V1).sort());
  });

  it('listCommits walks the history from main and from an alias', async () => {
    const history = await collect(listCommits({ ...hub(), repo: REPO }));
    assert.deepEqual(
      history.map((c) => c.oid),
      [main, champion],
    );
    assert.equal(history[1]?.title, 'version 1 of the chatbot');
    assert.ok(!Number.isNaN(history[0]?.date.getTime()), 'commit dates parse');
    assert.deepEqual(
      (await collect(listCommits({ ...hub(), repo: REPO, revision: 'champion' }))).map((c) => c.oid),
      [champion],
    );
  });

  it('a missing file is null (EntryNotFound), at main and where only an older commit has it', async () => {
    assert.equal(await downloadFile({ ...hub(), repo: REPO, path: 'missing.json' }), null);
    assert.equal(await downloadFile({ ...hub(), repo: REPO, path: 'tokenizer/vocab.txt' }), null);
    assert.equal(await fileDownloadInfo({ ...hub(), repo: REPO, path: 'missing.json', revision: champion }), null);
  });

  it('a missing repo or revision is a HubApiError with the status and the reason', async () => {
    const repo = await hubError(() => downloadFile({ ...hub(), repo: 'team/missing', path: 'config.json' }), 404);
    assert.match(repo.message, /team\/missing/);
    await hubError(() => modelInfo({ ...hub(), name: 'team/missing' }), 404);
    const rev = await hubError(() => downloadFile({ ...hub(), repo: REPO, path: 'config.json', revision: 'no-such-alias' }), 404);
    assert.match(rev.message, /no-such-alias/);
    await hubError(() => downloadFile({ ...hub(), repo: REPO, path: 'config.json', revision: '0'.repeat(40) }), 404);
    await hubError(() => collect(listFiles({ ...hub(), repo: REPO, revision: 'no-such-alias' })), 404);
    await hubError(() => collect(listCommits({ ...hub(), repo: 'team/missing' })), 404);
  });

  describe('uploads (LFS basic transfer, NDJSON commit)', () => {
    const NEW = 'team/js-bot';
    const WEIGHTS = randomBytes(10 * 1024 * 1024 + 4096);
    const CONFIG_A = JSON.stringify({ model_type: 'gpt2', n_layer: 6 });
    const CONFIG_B = JSON.stringify({ model_type: 'gpt2', n_layer: 8 });
    const NOTES = 'trained on the March data\n';
    let first = '';
    let second = '';
    const as = (token: string) => ({ hubUrl: server.url, accessToken: token, repo: NEW });
    const text = async (path: string, revision: string) => (await bytes(await downloadFile({ ...as(reader), path, revision }))).toString();
    const history = async () => (await collect(listCommits({ ...as(reader) }))).map((c) => c.oid);

    it('createRepo makes the repo on the server host; a second create is 409; a viewer cannot create', async () => {
      const made = await createRepo({ ...as(editor) });
      assert.equal(made.repoUrl, `${server.url}/${NEW}`);
      await hubError(() => createRepo({ ...as(editor) }), 409);
      await hubError(() => createRepo({ ...as(reader), repo: 'team/viewer-bot' }), 403);
      await hubError(() => modelInfo({ hubUrl: server.url, accessToken: reader, name: 'team/viewer-bot' }), 404);
    });

    it('uploadFiles pushes a file over 10 MiB through LFS and makes one commit serving the exact bytes', async () => {
      const out = await uploadFiles({
        ...as(editor),
        commitTitle: 'first weights',
        files: [
          { path: 'model.safetensors', content: new Blob([WEIGHTS]) },
          { path: 'config.json', content: new Blob([CONFIG_A]) },
          { path: 'extra/notes.txt', content: new Blob([NOTES]) },
        ],
      });
      assert.ok(out);
      first = out.commit.oid;
      assert.match(first, /^[0-9a-f]{40}$/);
      assert.equal(out.commit.url, `${server.url}/${NEW}/commit/${first}`);
      assert.deepEqual(await history(), [first]);
      const got = await bytes(await downloadFile({ ...as(reader), path: 'model.safetensors', revision: first }));
      assert.ok(got.equals(WEIGHTS), 'the uploaded LFS file is byte-identical');
      const info = await fileDownloadInfo({ ...as(reader), path: 'model.safetensors' });
      assert.equal(info?.etag.replaceAll('"', ''), sha256(WEIGHTS));
      assert.equal(await text('config.json', 'main'), CONFIG_A);
      // The Hub commit is a Berth version: `berth show` names the same commit.
      const shown = await berth(['show', NEW, '--json'], { url: server.url, env: { BERTH_TOKEN: reader } });
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal((JSON.parse(shown.stdout) as { digest: string }).digest.slice('sha256:'.length, 47), first);
    });

    it('commit adds, updates and deletes on top of its parent; the old commit keeps its old bytes', async () => {
      const out = await commit({
        ...as(editor),
        title: 'new config, card, no notes',
        parentCommit: first,
        operations: [
          { operation: 'addOrUpdate', path: 'config.json', content: new Blob([CONFIG_B]) },
          { operation: 'addOrUpdate', path: 'README.md', content: new Blob(['# js-bot\n']) },
          { operation: 'delete', path: 'extra/notes.txt' },
        ],
      });
      assert.ok(out);
      second = out.commit.oid;
      assert.notEqual(second, first);
      assert.deepEqual(await history(), [second, first]);
      const tree = await collect(listFiles({ ...as(reader), revision: second, recursive: true }));
      assert.deepEqual(tree.map((e) => e.path).sort(), ['README.md', 'config.json', 'model.safetensors']);
      assert.equal(await text('config.json', 'main'), CONFIG_B);
      assert.equal(await downloadFile({ ...as(reader), path: 'extra/notes.txt' }), null);
      assert.equal(await text('config.json', first), CONFIG_A);
      assert.equal(await text('extra/notes.txt', first), NOTES);
      const weights = await bytes(await downloadFile({ ...as(reader), path: 'model.safetensors', revision: second }));
      assert.ok(weights.equals(WEIGHTS), 'an untouched LFS file carries over unchanged');
    });

    it('a stale parentCommit is refused with 412 and commits nothing', async () => {
      await hubError(
        () => commit({ ...as(editor), title: 'from a stale parent', parentCommit: first, operations: [{ operation: 'delete', path: 'README.md' }] }),
        412,
      );
      assert.deepEqual(await history(), [second, first]);
      assert.equal(await text('README.md', 'main'), '# js-bot\n');
    });

    it('a viewer token cannot commit, and nothing changes', async () => {
      await hubError(() => uploadFiles({ ...as(reader), files: [{ path: 'config.json', content: new Blob(['{}']) }] }), 403);
      assert.deepEqual(await history(), [second, first]);
    });

    it('deleting a file the commit does not have is a 404 naming it, and commits nothing', async () => {
      const err = await hubError(() => commit({ ...as(editor), title: 'delete a ghost', operations: [{ operation: 'delete', path: 'ghost.bin' }] }), 404);
      assert.match(err.message, /ghost\.bin/);
      assert.deepEqual(await history(), [second, first]);
    });
  });
});
