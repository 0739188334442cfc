import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GGUF_HEADER_MAX_BYTES,
  GGUF_KEPT_STRING_BYTES,
  GGUF_MAX_COUNT,
  GGUF_METADATA_MAX_BYTES,
  GGUF_STRING_MAX_BYTES,
  GgufScanner,
  type GgufSummary,
} from './gguf-scan.js';

/** Little-endian GGUF pieces, written by hand so that each can lie. */
const gguf = {
  u8: (n: number) => Uint8Array.of(n),
  u32(n: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
  },
  u64(n: number | bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  },
  i64(n: bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, n, true);
    return b;
  },
  f32(n: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, n, true);
    return b;
  },
  f64(n: number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, n, true);
    return b;
  },
  str(s: string) {
    const t = new TextEncoder().encode(s);
    return concat(gguf.u64(t.length), t);
  },
};

const T = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 };

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const kv = (key: string, type: number, value: Uint8Array) => concat(gguf.str(key), gguf.u32(type), value);
const array = (itemType: number, items: Uint8Array[]) => concat(gguf.u32(itemType), gguf.u64(items.length), ...items);
const tensor = (name: string, dims: number[], type: number, offset: number) =>
  concat(gguf.str(name), gguf.u32(dims.length), ...dims.map((d) => gguf.u64(d)), gguf.u32(type), gguf.u64(offset));

interface File {
  version?: number;
  kvs?: Uint8Array[];
  tensors?: Uint8Array[];
  /** Bytes after the header's padding to the alignment. */
  data?: number;
  alignment?: number;
}

/** A GGUF file: magic, version, counts, the pieces, padding, `data` bytes of tensor data. */
function file({ version = 3, kvs = [], tensors = [], data = 0, alignment = 32 }: File): Uint8Array {
  const header = concat(
    Uint8Array.from('GGUF', (c) => c.charCodeAt(0)),
    gguf.u32(version),
    gguf.u64(tensors.length),
    gguf.u64(kvs.length),
    ...kvs,
    ...tensors,
  );
  const padded = Math.ceil(header.length / alignment) * alignment;
  return concat(header, new Uint8Array(padded - header.length + data));
}

function scan(bytes: Uint8Array, size = bytes.length || 1): GgufSummary {
  const s = new GgufScanner();
  for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size));
  return s.finish();
}

const problems = (bytes: Uint8Array) => scan(bytes).problems ?? [];

const vocab = Array.from({ length: 3000 }, (_, i) => gguf.str(`token-${i}`));

const llama = {
  kvs: [
    kv('general.architecture', T.string, gguf.str('llama')),
    kv('general.name', T.string, gguf.str('Tiny Llama')),
    kv('general.file_type', T.u32, gguf.u32(15)),
    kv('general.alignment', T.u32, gguf.u32(64)),
    kv('llama.block_count', T.u8, gguf.u8(2)),
    kv('i8', T.i8, gguf.u8(0xff)),
    kv('u16', T.u16, Uint8Array.of(0x34, 0x12)),
    kv('i16', T.i16, Uint8Array.of(0xfe, 0xff)),
    kv('i32', T.i32, gguf.u32(0xffffffff)),
    kv('f32', T.f32, gguf.f32(0.5)),
    kv('nan', T.f32, gguf.f32(Number.NaN)),
    kv('bool', T.bool, gguf.u8(1)),
    kv('u64', T.u64, gguf.u64(4096)),
    kv('u64.big', T.u64, gguf.u64(2n ** 63n)),
    kv('i64', T.i64, gguf.i64(-5n)),
    kv('f64', T.f64, gguf.f64(1e-5)),
    kv('tokenizer.ggml.tokens', T.array, array(T.string, vocab)),
    kv(
      'tokenizer.ggml.scores',
      T.array,
      array(
        T.f32,
        vocab.map(() => gguf.f32(0)),
      ),
    ),
    kv('nested', T.array, array(T.array, [array(T.u8, [gguf.u8(1)]), array(T.string, [gguf.str('x')])])),
    kv('tokenizer.chat_template', T.string, gguf.str('x'.repeat(GGUF_KEPT_STRING_BYTES + 1))),
  ],
  tensors: [tensor('token_embd.weight', [256, 8], 12, 0), tensor('blk.0.attn_norm.weight', [256], 0, 1152), tensor('output.weight', [256, 4, 2], 1, 2176)],
  data: 2176 + 4096,
  alignment: 64,
};

describe('GgufScanner', () => {
  it('summarises version, tensors, ggml types, parameters and general keys, whatever the chunking', () => {
    const bytes = file(llama);
    for (const size of [1, 7, 4096]) {
      const s = scan(bytes, size);
      assert.deepEqual(s, {
        format: 'gguf',
        version: 3,
        header_bytes: s.header_bytes,
        tensors: 3,
        parameters: 256 * 8 + 256 + 256 * 8,
        dtypes: { Q4_K: { tensors: 1, parameters: 2048 }, F32: { tensors: 1, parameters: 256 }, F16: { tensors: 1, parameters: 2048 } },
        architecture: 'llama',
        name: 'Tiny Llama',
        file_type: 15,
        quantization: 'Q4_K_M',
        metadata: {
          'general.architecture': 'llama',
          'general.name': 'Tiny Llama',
          'general.file_type': 15,
          'general.alignment': 64,
          'llama.block_count': 2,
          i8: -1,
          u16: 0x1234,
          i16: -2,
          i32: -1,
          f32: 0.5,
          nan: 'NaN',
          bool: true,
          u64: 4096,
          'u64.big': '9223372036854775808',
          i64: -5,
          f64: 1e-5,
        },
        metadata_omitted: 4,
      });
      assert.equal(Math.ceil(s.header_bytes / 64) * 64 + 2176 + 4096, bytes.length);
    }
  });

  it('holds one value at a time, never a skipped string or array, and nothing once the header is read', () => {
    const s = new GgufScanner();
    const bytes = file(llama);
    let most = 0;
    for (let i = 0; i < bytes.length; i += 100) {
      s.push(bytes.subarray(i, i + 100));
      most = Math.max(most, s.bufferedBytes);
    }
    assert.ok(most <= GGUF_KEPT_STRING_BYTES, `held ${most} bytes`);
    assert.equal(s.bufferedBytes, 0);
  });

  it('reads version 2 and a file without tensors or metadata', () => {
    assert.deepEqual(scan(file({ version: 2 })), { format: 'gguf', version: 2, header_bytes: 24, tensors: 0, parameters: 0, dtypes: {}, metadata: {} });
  });

  it('names no quantization for a file_type it does not know', () => {
    const s = scan(file({ kvs: [kv('general.file_type', T.u32, gguf.u32(5))] }));
    assert.equal(s.file_type, 5);
    assert.equal(s.quantization, undefined);
  });

  it('refuses a file whose magic is not GGUF, or a version other than 2 and 3', () => {
    const bytes = file({});
    bytes[0] = 0x47 + 1;
    assert.deepEqual(problems(bytes), ['not a GGUF file: the magic is not "GGUF"']);
    assert.deepEqual(problems(file({ version: 1 })), ['unsupported GGUF version 1 (versions 2 and 3 are read)']);
    assert.equal(scan(file({ version: 1 })).version, 0);
  });

  it('reports a truncated header and where it ends, including a length that runs past the file', () => {
    const bytes = file(llama);
    assert.deepEqual(problems(bytes.subarray(0, 2)), ['truncated: the file ends at byte 2, inside the magic']);
    assert.deepEqual(problems(bytes.subarray(0, 12)), ['truncated: the file ends at byte 12, inside the counts']);
    assert.match(problems(bytes.subarray(0, 40))[0] ?? '', /^truncated: the file ends at byte 40, inside metadata key 0$/);
    assert.match(problems(bytes.subarray(0, 60))[0] ?? '', /inside metadata key "general.architecture"/);
    const end = scan(bytes).header_bytes;
    assert.match(problems(bytes.subarray(0, end - 5))[0] ?? '', /inside tensor "output.weight"$/);
    assert.deepEqual(problems(bytes.subarray(0, end + 10)), [`tensor "output.weight" ends at byte ${bytes.length}, beyond the file's ${end + 10} bytes`]);
    const lying = file({ kvs: [concat(gguf.str('general.name'), gguf.u32(T.string), gguf.u64(5000), gguf.u8(0x41))] });
    assert.match(problems(lying)[0] ?? '', /^truncated: the file ends at byte \d+, inside metadata key "general.name"$/);
    assert.deepEqual(problems(new Uint8Array()), ['truncated: the file ends at byte 0, inside the magic']);
  });

  it('refuses absurd counts and lengths without allocating them', () => {
    const head = (tensors: number | bigint, kvs: number | bigint, ...rest: Uint8Array[]) =>
      concat(
        Uint8Array.from('GGUF', (c) => c.charCodeAt(0)),
        gguf.u32(3),
        gguf.u64(tensors),
        gguf.u64(kvs),
        ...rest,
      );
    assert.deepEqual(problems(head(GGUF_MAX_COUNT + 1, 0)), [`tensor count ${GGUF_MAX_COUNT + 1} is more than ${GGUF_MAX_COUNT}`]);
    assert.deepEqual(problems(head(0, 2n ** 64n - 1n)), [`metadata key count ${2 ** 64} is more than ${GGUF_MAX_COUNT}`]);
    const hugeKey = head(0, 1, gguf.u64(2n ** 62n));
    assert.deepEqual(problems(hugeKey), [`metadata key 0: a metadata key claims ${2 ** 62} bytes, more than ${GGUF_STRING_MAX_BYTES}`]);
    const hugeValue = head(0, 1, gguf.str('k'), gguf.u32(T.string), gguf.u64(GGUF_STRING_MAX_BYTES + 1));
    assert.match(problems(hugeValue)[0] ?? '', /^metadata key "k": a string in metadata key "k" claims 67108865 bytes/);
    const hugeArray = head(0, 1, gguf.str('tokens'), gguf.u32(T.array), gguf.u32(T.string), gguf.u64(2n ** 40n));
    assert.deepEqual(problems(hugeArray), [
      `metadata key "tokens" claims ${2 ** 40} elements, more than the header limit of ${GGUF_HEADER_MAX_BYTES} bytes can hold`,
    ]);
    const hugeTensorName = head(1, 0, gguf.u64(2n ** 50n));
    assert.match(problems(hugeTensorName)[0] ?? '', /^tensor info 0: a tensor name claims/);
  });

  it('refuses a header that grows past its limit, however it is spread', () => {
    const s = new GgufScanner();
    const fill = GGUF_HEADER_MAX_BYTES - 24 - 8 - 1 - 4 - 4 - 8;
    s.push(
      concat(
        Uint8Array.from('GGUF', (c) => c.charCodeAt(0)),
        gguf.u32(3),
        gguf.u64(0),
        gguf.u64(2),
        gguf.str('a'),
        gguf.u32(T.array),
        gguf.u32(T.u8),
        gguf.u64(fill),
      ),
    );
    const chunk = new Uint8Array(1024 * 1024);
    for (let left = fill; left > 0; left -= chunk.length) s.push(chunk.subarray(0, Math.min(left, chunk.length)));
    s.push(gguf.u64(1));
    assert.deepEqual(s.finish().problems, [`header too large: metadata key 1 would take it past ${GGUF_HEADER_MAX_BYTES} bytes`]);
    assert.equal(s.bufferedBytes <= 64, true);
  });

  it('refuses unknown value types and arrays nested too deep', () => {
    assert.deepEqual(problems(file({ kvs: [kv('k', 13, new Uint8Array(8))] })), ['metadata key "k" has unknown value type 13']);
    assert.deepEqual(problems(file({ kvs: [kv('k', T.array, array(42, []))] })), ['metadata key "k" is an array of unknown value type 42']);
    let deep = array(T.u8, []);
    for (let i = 0; i < 4; i++) deep = array(T.array, [deep]);
    assert.deepEqual(problems(file({ kvs: [kv('k', T.array, deep)] })), ['metadata key "k" nests arrays deeper than 4']);
  });

  it('refuses tensors with more than 4 dimensions or a parameter count beyond 2^53', () => {
    assert.deepEqual(problems(file({ tensors: [tensor('w', [1, 1, 1, 1, 1], 0, 0)] })), ['tensor "w" has 5 dimensions, at most 4 exist']);
    assert.deepEqual(problems(file({ tensors: [tensor('w', [2 ** 30, 2 ** 30], 0, 0)] })), ['tensor "w" has dimensions whose product is beyond 2^53']);
  });

  it('flags unknown ggml types, partial blocks, misaligned offsets and tensors beyond the file, and goes on reading', () => {
    const s = scan(
      file({
        tensors: [tensor('a', [32], 4, 0), tensor('b', [33], 2, 0), tensor('c', [32], 2, 16), tensor('d', [32], 0, 0), tensor('e', [64], 0, 128)],
        data: 100,
      }),
    );
    const dataStart = Math.ceil(s.header_bytes / 32) * 32;
    assert.equal(s.tensors, 5);
    assert.deepEqual(s.dtypes['type 4'], { tensors: 1, parameters: 32 });
    assert.deepEqual(s.problems, [
      'tensor "a" has unknown ggml type 4',
      'tensor "b" is Q4_0, whose blocks hold 32 values, but its first dimension is 33',
      'tensor "c" starts at offset 16, not a multiple of the alignment 32',
      `tensor "e" ends at byte ${dataStart + 128 + 256}, beyond the file's ${dataStart + 100} bytes`,
    ]);
  });

  it('names a tensor by its index when its name is too long to keep, and skips a key too long to keep', () => {
    const longName = 'n'.repeat(GGUF_KEPT_STRING_BYTES + 1);
    const s = scan(file({ kvs: [kv(longName, T.u8, gguf.u8(1))], tensors: [tensor(longName, [64], 0, 0)], data: 10 }));
    assert.deepEqual(s.metadata, {});
    assert.equal(s.metadata_omitted, 1);
    assert.deepEqual(s.problems, [
      `tensor 0 ends at byte ${Math.ceil(s.header_bytes / 32) * 32 + 256}, beyond the file's ${Math.ceil(s.header_bytes / 32) * 32 + 10} bytes`,
    ]);
  });

  it('flags an alignment that is not a u32 power of two', () => {
    assert.deepEqual(problems(file({ kvs: [kv('general.alignment', T.u32, gguf.u32(48))] })), [
      'general.alignment must be a power of two stored as u32, not 48 of value type 4',
    ]);
    assert.deepEqual(problems(file({ kvs: [kv('general.alignment', T.array, array(T.u8, []))] })), [
      'general.alignment must be a power of two stored as u32, not null of value type 9',
    ]);
  });

  it('keeps metadata up to its size cap and counts the keys left out', () => {
    const kvs = Array.from({ length: 100 }, (_, i) => kv(`key.${i}`, T.string, gguf.str('v'.repeat(500))));
    const s = scan(file({ kvs }));
    const kept = Object.keys(s.metadata).length;
    assert.ok(kept > 0 && kept < 100);
    assert.equal(s.metadata_omitted, 100 - kept);
    assert.ok(JSON.stringify(s.metadata).length <= GGUF_METADATA_MAX_BYTES);
  });

  it('caps the number of problems it lists', () => {
    const tensors = Array.from({ length: 30 }, (_, i) => tensor(`t${i}`, [1], 5, 0));
    assert.equal(problems(file({ tensors })).length, 20);
  });
});
