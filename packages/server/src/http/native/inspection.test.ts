import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { openTestApp, type TestApp } from '../../../test-support/app.js';
import { localActor } from '../../registry/actor.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A safetensors file with one F32 tensor of `n` elements (its data zero). */
function safetensors(n: number, offsetsEnd = n * 4): Buffer {
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [n], data_offsets: [0, offsetsEnd] } }));
  const out = Buffer.alloc(8 + header.length + n * 4);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  return out;
}

/** A GGUF v3 file: general.architecture = llama, one F16 tensor of `n` elements; `cut` drops that many header bytes. */
function gguf(n: number, cut = 0): Buffer {
  const str = (s: string) => {
    const b = Buffer.alloc(8 + s.length);
    b.writeBigUInt64LE(BigInt(s.length));
    b.write(s, 8);
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const header = Buffer.concat([
    Buffer.from('GGUF'),
    u32(3),
    u64(1),
    u64(1),
    str('general.architecture'),
    u32(8),
    str('llama'),
    str('w'),
    u32(1),
    u64(n),
    u32(1),
    u64(0),
  ]);
  if (cut > 0) return header.subarray(0, header.length - cut);
  return Buffer.concat([header, Buffer.alloc(Math.ceil(header.length / 32) * 32 - header.length + n * 2)]);
}

const EVIL = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');
/** A one-entry zip, stored as torch.save stores its entries: local header, name, bytes, end of central directory. */
function storedZip(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt32LE(data.length, 18);
  header.writeUInt32LE(data.length, 22);
  header.writeUInt16LE(Buffer.byteLength(name), 26);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  return Buffer.concat([header, Buffer.from(name), data, end]);
}

const EVAL_IN_ZIP = storedZip('archive/data.pkl', Buffer.from('\x80\x02cbuiltins\neval\n.', 'latin1'));
const STATE_DICT = Buffer.from('\x80\x02ccollections\nOrderedDict\n)R.', 'latin1');

describe('inspection on upload', () => {
  let t: TestApp;
  let strict: TestApp;
  before(async () => {
    t = await openTestApp('berth-inspect-');
    strict = await openTestApp('berth-inspect-strict-', { config: { refuseUnsafePickle: true } });
  });
  after(async () => {
    await t.close();
    await strict.close();
  });

  async function put(on: TestApp, data: Buffer) {
    const res = await on.app.inject({
      method: 'PUT',
      url: `/api/v1/blobs/${sha(data)}`,
      payload: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
  }

  async function commit(on: TestApp, model: string, files: Record<string, Buffer>, inline = false) {
    const manifest = Object.entries(files).map(([path, data]) => ({ path, size: data.length, sha256: sha(data) }));
    if (!inline) for (const data of Object.values(files)) await put(on, data);
    const blobs = inline ? Object.values(files).map((d) => ({ sha256: sha(d), base64: d.toString('base64') })) : undefined;
    return on.app.inject({ method: 'POST', url: `/api/v1/models/${model}/versions`, payload: { files: manifest, blobs, metadata: { 'berth.flags': 'mine' } } });
  }

  it('records the safetensors summary of an uploaded file in the version metadata', async () => {
    const weights = safetensors(100_000);
    const res = await commit(t, 'st-good', { 'model.safetensors': weights, 'config.json': Buffer.from('{}') });
    assert.equal(res.statusCode, 201, res.body);
    const v = (await t.app.inject('/api/v1/models/st-good/versions/1')).json();
    assert.deepEqual(v.metadata['berth.inspection'], {
      'model.safetensors': {
        format: 'safetensors',
        header_bytes: weights.readUInt32LE(0),
        tensors: 1,
        parameters: 100_000,
        dtypes: { F32: { tensors: 1, parameters: 100_000 } },
        metadata: { format: 'pt' },
      },
    });
    assert.equal(v.metadata['berth.flags'], undefined, 'a key the server owns is not taken from the caller');
  });

  it('records the GGUF summary of an uploaded file, and flags a truncated one without refusing the version', async () => {
    const res = await commit(t, 'gguf-good', { 'model.gguf': gguf(1000), 'broken.gguf': gguf(1000, 3) });
    assert.equal(res.statusCode, 201, res.body);
    const v = (await t.app.inject('/api/v1/models/gguf-good/versions/1')).json();
    const summary = v.metadata['berth.inspection']['model.gguf'];
    assert.deepEqual(
      {
        format: summary.format,
        version: summary.version,
        architecture: summary.architecture,
        tensors: summary.tensors,
        parameters: summary.parameters,
        dtypes: summary.dtypes,
      },
      { format: 'gguf', version: 3, architecture: 'llama', tensors: 1, parameters: 1000, dtypes: { F16: { tensors: 1, parameters: 1000 } } },
    );
    assert.deepEqual(Object.keys(v.metadata['berth.flags']), ['invalid-gguf']);
    assert.match(v.metadata['berth.flags']['invalid-gguf']['broken.gguf'][0], /^truncated: the file ends at byte \d+, inside tensor "w"$/);
  });

  it('flags a lying safetensors header without refusing the version', async () => {
    const res = await commit(strict, 'st-lying', { 'model.safetensors': safetensors(1000, 8000) });
    assert.equal(res.statusCode, 201, res.body);
    const flags = res.json().metadata['berth.flags'];
    assert.match(flags['invalid-safetensors']['model.safetensors'][0], /outside the data's 4000 bytes/);
  });

  it('flags unsafe pickles, plain or inside a zip checkpoint, uploaded or inline, and passes a safe one', async () => {
    const res = await commit(t, 'pk', { 'pytorch_model.bin': EVIL, 'model.pt': EVAL_IN_ZIP, 'ok.pkl': STATE_DICT });
    assert.equal(res.statusCode, 201, res.body);
    const v = (await t.app.inject('/api/v1/models/pk/versions/1')).json();
    assert.deepEqual(v.metadata['berth.flags'], {
      'unsafe-pickle': { 'pytorch_model.bin': ['imports os.system'], 'model.pt': ['imports builtins.eval'] },
    });
    assert.deepEqual(v.metadata['berth.inspection']['ok.pkl'].globals, ['collections.OrderedDict']);
    const inline = await commit(t, 'pk-inline', { 'evil.pkl': EVIL }, true);
    assert.equal(inline.statusCode, 201, inline.body);
    assert.deepEqual(inline.json().metadata['berth.flags'], { 'unsafe-pickle': { 'evil.pkl': ['imports os.system'] } });
  });

  it('refuses a commit naming an unsafe pickle when the server is told to, and stores nothing', async () => {
    for (const inline of [false, true]) {
      const model = inline ? 'refused-inline' : 'refused';
      const res = await commit(strict, model, { 'pytorch_model.bin': EVIL, 'config.json': Buffer.from(`{"inline": ${inline}}`) }, inline);
      assert.equal(res.statusCode, 412, res.body);
      const body = res.json();
      assert.equal(body.error.code, 'FAILED_PRECONDITION');
      assert.match(body.error.message, /pytorch_model\.bin \(imports os\.system\)/);
      assert.deepEqual(body.error.details.unsafe_pickles, { 'pytorch_model.bin': ['imports os.system'] });
      assert.equal((await strict.app.inject(`/api/v1/models/${model}`)).statusCode, 404);
    }
    assert.equal(await strict.blobs.stat(sha(Buffer.from('{"inline": true}'))), undefined, 'no inline blob of a refused commit is stored');
    const ok = await commit(strict, 'allowed', { 'ok.pkl': STATE_DICT });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  it('refuses an edit of the keys the server writes', async () => {
    for (const metadata of [{ 'berth.flags': null }, { 'berth.inspection': {} }]) {
      const res = await t.app.inject({ method: 'PATCH', url: '/api/v1/models/pk/versions/1', payload: { metadata } });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().error.message, /written by the server/);
    }
    const v = (await t.app.inject('/api/v1/models/pk/versions/1')).json();
    assert.ok(v.metadata['berth.flags']['unsafe-pickle']);
  });

  it('inspects MLflow artifacts and resumed uploads from their first byte', async () => {
    const actor = localActor();
    const rec = await t.registry.artifacts.put(actor, 'mlflow-artifacts/0/run/artifacts/model/model.pkl', Readable.from([EVIL]), EVIL.length);
    const found = await t.store.read.blobInspections.findMany([rec.sha256]);
    const artifact = found.get(rec.sha256);
    assert.deepEqual(artifact?.format === 'pickle' && artifact.unsafe_globals, ['os.system']);

    // os.system called on 6 MiB of bytes; the cut comes 5 MiB in, after the import.
    const length = Buffer.alloc(4);
    length.writeUInt32LE(6 * 1024 * 1024);
    const big = Buffer.concat([Buffer.from('\x80\x02cos\nsystem\nB', 'latin1'), length, Buffer.alloc(6 * 1024 * 1024, 0x61), Buffer.from('\x85R.', 'latin1')]);
    const hex = sha(big);
    const session = await t.registry.blobs.openUpload(actor, [{ path: 'big.pkl', sha256: hex, size: big.length }]);
    async function* cut() {
      for (let at = 0; at < 5 * 1024 * 1024; at += 256 * 1024) yield big.subarray(at, at + 256 * 1024);
      throw new Error('connection reset');
    }
    await assert.rejects(t.registry.blobs.put(actor, hex, cut(), big.length, { upload_id: session.upload_id }), /connection reset/);
    const held = await t.blobs.partialSize(session.upload_id, hex);
    assert.ok(held > 0 && held < big.length);
    await t.registry.blobs.put(actor, hex, Readable.from([big.subarray(held)]), big.length, { upload_id: session.upload_id, offset: held });
    const resumed = (await t.store.read.blobInspections.findMany([hex])).get(hex);
    assert.deepEqual(resumed?.format === 'pickle' && resumed.unsafe_globals, ['os.system']);
  });
});
