import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SAFETENSORS_HEADER_MAX_BYTES, SAFETENSORS_METADATA_MAX_BYTES, SafetensorsScanner, type SafetensorsSummary } from './safetensors-scan.js';

type Tensor = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** A safetensors file: the 8-byte length, the JSON header, `dataBytes` of data. */
function file(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/** Feeds `bytes` in pieces of `size` (the upload's chunking must not matter). */
function scan(bytes: Uint8Array, size = bytes.length || 1): SafetensorsSummary {
  const s = new SafetensorsScanner();
  for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size));
  return s.finish();
}

const good: Record<string, Tensor | Record<string, string>> = {
  __metadata__: { format: 'pt' },
  'fc.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
  'fc.bias': { dtype: 'F32', shape: [2], data_offsets: [24, 32] },
  'emb.weight': { dtype: 'BF16', shape: [4, 2], data_offsets: [32, 48] },
  packed: { dtype: 'F4', shape: [4], data_offsets: [48, 50] },
};

describe('SafetensorsScanner', () => {
  it('summarises tensors, dtypes, parameters and metadata when the header is valid, whatever the chunking', () => {
    const bytes = file(good, 50);
    for (const size of [1, 7, 4096]) {
      const s = scan(bytes, size);
      assert.deepEqual(s, {
        format: 'safetensors',
        header_bytes: bytes.length - 58,
        tensors: 4,
        parameters: 20,
        dtypes: { F32: { tensors: 2, parameters: 8 }, BF16: { tensors: 1, parameters: 8 }, F4: { tensors: 1, parameters: 4 } },
        metadata: { format: 'pt' },
      });
    }
  });
  it('holds only the header when the data is large', () => {
    const s = new SafetensorsScanner();
    const bytes = file(good, 50);
    s.push(bytes);
    for (let i = 0; i < 100; i++) s.push(new Uint8Array(1024 * 1024));
    assert.equal(s.bufferedBytes, bytes.length - 50);
    assert.match(s.finish().problems?.[0] ?? '', /cover 50 of the data's 104857650 bytes/);
  });
  it('flags a file shorter than the header length', () => {
    assert.match(scan(new Uint8Array([1, 2, 3])).problems?.[0] ?? '', /truncated: the file has 3 bytes/);
  });
  it('flags a header length beyond the file', () => {
    const bytes = file(good, 50);
    assert.match(scan(bytes.subarray(0, 40)).problems?.[0] ?? '', /header length \d+ goes beyond the file's 40 bytes/);
  });
  it('refuses a 100 MB header claim without allocating it', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(SAFETENSORS_HEADER_MAX_BYTES + 1), true);
    bytes[8] = 0x7b;
    const s = new SafetensorsScanner();
    s.push(bytes);
    assert.equal(s.bufferedBytes, 8);
    assert.match(s.finish().problems?.[0] ?? '', /header too large: 104857601 bytes claimed/);
  });
  it('flags overlapping tensors', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    assert.match(scan(file(h, 12)).problems?.[0] ?? '', /tensor "b" overlaps the one before it/);
  });
  it('flags a hole between tensors', () => {
    const h = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    assert.match(scan(file(h, 12)).problems?.[0] ?? '', /bytes 4-8 of the data belong to no tensor/);
  });
  it('flags offsets out of range, inverted or malformed', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ dtype: 'F32', shape: [4], data_offsets: [0, 16] }, /data_offsets \[0, 16\] outside the data's 8 bytes/],
      [{ dtype: 'F32', shape: [0], data_offsets: [8, 0] }, /data_offsets \[8, 0\] outside/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0] }, /data_offsets that are not \[begin, end\]/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, -4] }, /data_offsets that are not/],
      [{ dtype: 'F32', shape: 'x', data_offsets: [0, 4] }, /shape that is not a list of sizes/],
      [{ dtype: 'F33', shape: [1], data_offsets: [0, 4] }, /unknown dtype "F33"/],
      [{ dtype: 'toString', shape: [1], data_offsets: [0, 4] }, /unknown dtype "toString"/],
      [{ dtype: 'F32', shape: [3], data_offsets: [0, 8] }, /F32 of shape \[3\]: 12 bytes, but its data_offsets span 8/],
      ['x', /is not an object/],
      [null, /is not an object/],
    ];
    for (const [t, re] of cases) assert.match(scan(file({ t }, 8)).problems?.join('; ') ?? '', re);
  });
  it('flags a header that is not a JSON object, and bad metadata', () => {
    const raw = (text: string) => {
      const json = new TextEncoder().encode(text);
      const out = new Uint8Array(8 + json.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    assert.match(scan(raw('{"a":')).problems?.[0] ?? '', /not UTF-8 JSON/);
    assert.match(scan(raw('[1]')).problems?.[0] ?? '', /not a JSON object/);
    assert.match(scan(raw('null')).problems?.[0] ?? '', /not a JSON object/);
    assert.match(scan(file({ __metadata__: [] }, 0)).problems?.[0] ?? '', /__metadata__ is not an object/);
    assert.match(scan(file({ __metadata__: { a: 1 } }, 0)).problems?.[0] ?? '', /values must be strings/);
    assert.deepEqual(scan(file({}, 0)).problems, undefined);
    const big = scan(file({ __metadata__: { notes: 'x'.repeat(SAFETENSORS_METADATA_MAX_BYTES) } }, 0));
    assert.equal(big.metadata, undefined);
    assert.equal(big.metadata_bytes_omitted, SAFETENSORS_METADATA_MAX_BYTES + 12);
    assert.equal(big.problems, undefined);
  });
});
