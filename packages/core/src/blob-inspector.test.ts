import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync } from 'fflate';
import { BlobInspector, inspectionFlags, type BlobInspection } from './blob-inspector.js';

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function inspect(data: Uint8Array, size = 5): { result: BlobInspection | undefined; buffered: number } {
  const i = new BlobInspector();
  for (let at = 0; at < data.length; at += size) i.push(data.subarray(at, at + size));
  return { result: i.finish(), buffered: i.bufferedBytes };
}

function safetensors(header: object, data: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const EVIL = bytes("cos\nsystem\n(S'echo pwned'\ntR.");

describe('BlobInspector', () => {
  it('recognises safetensors by its header and holds only the header', () => {
    const file = safetensors({ w: { dtype: 'F16', shape: [64], data_offsets: [0, 128] } }, 128);
    const { result, buffered } = inspect(file, 100);
    assert.equal(result?.format, 'safetensors');
    assert.equal(result?.format === 'safetensors' && result.parameters, 64);
    assert.equal(buffered, file.length - 128);
    assert.equal(inspectionFlags(result as BlobInspection), undefined);
  });
  it('flags a lying safetensors header as invalid-safetensors', () => {
    const { result } = inspect(safetensors({ w: { dtype: 'F16', shape: [64], data_offsets: [0, 128] } }, 100));
    assert.deepEqual(inspectionFlags(result as BlobInspection)?.flag, 'invalid-safetensors');
  });
  it('recognises GGUF by its magic, holds one value at a time, and flags a broken header as invalid-gguf', () => {
    const u64 = (n: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
      return b;
    };
    const head = [...bytes('GGUF\x03\x00\x00\x00'), ...u64(1), ...u64(1), ...u64(12), ...bytes('general.name\x08\x00\x00\x00'), ...u64(3), ...bytes('abc')];
    const tensor = [...u64(1), ...bytes('w\x01\x00\x00\x00'), ...u64(64), ...bytes('\x01\x00\x00\x00'), ...u64(0)];
    const header = [...head, ...tensor];
    const file = new Uint8Array(Math.ceil(header.length / 32) * 32 + 128);
    file.set(header);
    const { result, buffered } = inspect(file, 3);
    assert.equal(result?.format === 'gguf' && result.name, 'abc');
    assert.equal(result?.format === 'gguf' && result.dtypes.F16?.parameters, 64);
    assert.equal(inspectionFlags(result as BlobInspection), undefined);
    assert.equal(buffered, 0);
    const cut = inspect(file.subarray(0, header.length - 2)).result as BlobInspection;
    assert.deepEqual(inspectionFlags(cut)?.flag, 'invalid-gguf');
  });
  it('recognises pickles by PROTO and by their first opcodes, and flags unsafe ones', () => {
    const proto = inspect(bytes('\x80\x02cposix\nsystem\n.'));
    assert.deepEqual(inspectionFlags(proto.result as BlobInspection), { flag: 'unsafe-pickle', reasons: ['imports posix.system'] });
    const old = inspect(EVIL, 64);
    assert.deepEqual(inspectionFlags(old.result as BlobInspection), { flag: 'unsafe-pickle', reasons: ['imports os.system'] });
    const inst = inspect(bytes(`(S'ls'\nisubprocess\nPopen\n.${' '.repeat(100)}`));
    assert.equal(inst.result?.format, 'pickle');
    assert.equal(inspect(bytes('\x80\x02N.')).result?.format === 'pickle' && inspectionFlags(inspect(bytes('\x80\x02N.')).result as BlobInspection), undefined);
  });
  it('recognises a zip and flags an unsafe pickle or a problem inside it', () => {
    const zip = zipSync({ 'archive/data.pkl': [EVIL, { level: 0 }] });
    assert.deepEqual(inspectionFlags(inspect(zip).result as BlobInspection), { flag: 'unsafe-pickle', reasons: ['imports os.system'] });
    const truncated = zipSync({ 'archive/data.pkl': [bytes('\x80\x02cos\nsys'), { level: 0 }] });
    assert.deepEqual(inspectionFlags(inspect(truncated).result as BlobInspection)?.reasons, ['archive/data.pkl: truncated: the stream ends inside a pickle']);
    const clean = zipSync({ 'a.txt': [bytes('hello'), { level: 0 }] });
    assert.equal(inspectionFlags(inspect(clean).result as BlobInspection), undefined);
  });
  it('leaves other content alone, short or long', () => {
    assert.equal(inspect(bytes('hello world')).result, undefined);
    assert.equal(inspect(bytes('{"config": true, "padding": "................................................"}')).result, undefined);
    assert.equal(inspect(new Uint8Array()).result, undefined);
    const other = new BlobInspector();
    other.push(new Uint8Array(1000).fill(0x41));
    other.push(new Uint8Array(1000));
    assert.equal(other.bufferedBytes, 64);
    assert.equal(other.finish(), undefined);
  });
});
