/**
 * Reads a GGUF file's header as the file streams past, never its tensor data
 * (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): magic `GGUF`, version (2 or 3),
 * tensor count and metadata count (u64), the metadata key/value pairs, then one info per
 * tensor (name, dimensions, ggml type, offset), all little-endian. Strings and arrays are
 * skipped as they pass unless short: a tokenizer vocabulary of 200,000 strings costs a few
 * bytes of state, never a buffer. Every length and count is checked against a cap before it
 * is followed, so a lying header is a problem found, not an allocation.
 */

/** Everything before the tensor data; past this the header is refused (real ones with a full tokenizer stay under 100 MiB). */
export const GGUF_HEADER_MAX_BYTES = 1024 * 1024 * 1024;
/** One string (a key, a value, a tensor name); chat templates and embedded tokenizer JSON stay far below. */
export const GGUF_STRING_MAX_BYTES = 64 * 1024 * 1024;
/** Tensor and metadata counts above this are refused unread. */
export const GGUF_MAX_COUNT = 1_000_000;
/** String values longer than this are left out of the summary, which lands in version metadata. */
export const GGUF_KEPT_STRING_BYTES = 1024;
/** The kept metadata (as JSON) stops growing at this size; later keys are counted as omitted. */
export const GGUF_METADATA_MAX_BYTES = 16 * 1024;

/** ggml's tensor dimensions limit (GGML_MAX_DIMS). */
const MAX_DIMS = 4;
/** Nested arrays are legal; deeper than this is not a real file. */
const MAX_ARRAY_DEPTH = 4;
const MAX_PROBLEMS = 20;
const DEFAULT_ALIGNMENT = 32;
const MAGIC = 0x46554747;

/** ggml_type → name, elements per block, bytes per block (ggml.h, gguf-py GGML_QUANT_SIZES); removed ids are unknown. */
const GGML_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ['F32', 1, 4],
  1: ['F16', 1, 2],
  2: ['Q4_0', 32, 18],
  3: ['Q4_1', 32, 20],
  6: ['Q5_0', 32, 22],
  7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34],
  9: ['Q8_1', 32, 40],
  10: ['Q2_K', 256, 84],
  11: ['Q3_K', 256, 110],
  12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176],
  14: ['Q6_K', 256, 210],
  15: ['Q8_K', 256, 292],
  16: ['IQ2_XXS', 256, 66],
  17: ['IQ2_XS', 256, 74],
  18: ['IQ3_XXS', 256, 98],
  19: ['IQ1_S', 256, 50],
  20: ['IQ4_NL', 32, 18],
  21: ['IQ3_S', 256, 110],
  22: ['IQ2_S', 256, 82],
  23: ['IQ4_XS', 256, 136],
  24: ['I8', 1, 1],
  25: ['I16', 1, 2],
  26: ['I32', 1, 4],
  27: ['I64', 1, 8],
  28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56],
  30: ['BF16', 1, 2],
  34: ['TQ1_0', 256, 54],
  35: ['TQ2_0', 256, 66],
  39: ['MXFP4', 32, 17],
};

/** `general.file_type` (llama.h llama_ftype) → the quantization it names. */
const FILE_TYPES: readonly (string | undefined)[] = [
  'F32',
  'F16',
  'Q4_0',
  'Q4_1',
  'Q4_1_SOME_F16',
  undefined,
  undefined,
  'Q8_0',
  'Q5_0',
  'Q5_1',
  'Q2_K',
  'Q3_K_S',
  'Q3_K_M',
  'Q3_K_L',
  'Q4_K_S',
  'Q4_K_M',
  'Q5_K_S',
  'Q5_K_M',
  'Q6_K',
  'IQ2_XXS',
  'IQ2_XS',
  'Q2_K_S',
  'IQ3_XS',
  'IQ3_XXS',
  'IQ1_S',
  'IQ4_NL',
  'IQ3_S',
  'IQ3_M',
  'IQ2_S',
  'IQ2_M',
  'IQ4_XS',
  'IQ1_M',
  'BF16',
  undefined,
  undefined,
  undefined,
  'TQ1_0',
  'TQ2_0',
  'MXFP4_MOE',
];

/** GGUF value types: 0-7 and 10-12 are fixed-size scalars, 8 a string, 9 an array. */
const SCALAR_BYTES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;
const UINT32 = 4;
const utf8 = new TextDecoder();

export type GgufValue = string | number | boolean;

export interface GgufSummary {
  format: 'gguf';
  /** 0 when the file ends before it. */
  version: number;
  /** Bytes from the start of the file to the end of the tensor infos. */
  header_bytes: number;
  tensors: number;
  parameters: number;
  /** Per ggml type name (`F16`, `Q4_K`, ...). */
  dtypes: Record<string, { tensors: number; parameters: number }>;
  architecture?: string;
  name?: string;
  file_type?: number;
  /** What `file_type` names, when it is a known one. */
  quantization?: string;
  /** Scalar and short string values by key; arrays, long strings and keys past the size cap are left out. */
  metadata: Record<string, GgufValue>;
  /** How many keys were left out of `metadata`. */
  metadata_omitted?: number;
  /** Why the header cannot be trusted; absent when it is valid. */
  problems?: string[];
}

type Need = { read: number } | { skip: number };
type Parse = Generator<Need, void, Uint8Array>;

/** A problem after which the rest of the header cannot be followed. */
class Fatal {
  constructor(readonly problem: string) {}
}

export class GgufScanner {
  private readonly summary: GgufSummary = { format: 'gguf', version: 0, header_bytes: 0, tensors: 0, parameters: 0, dtypes: {}, metadata: {} };
  private readonly problems: string[] = [];
  private readonly parser: Parse;
  private need: Need | undefined;
  private buf = new Uint8Array(0);
  private filled = 0;
  private consumed = 0;
  private total = 0;
  private where = 'the magic';
  private keptBytes = 2;
  private alignment = DEFAULT_ALIGNMENT;
  /** The furthest tensor end (relative to the data section) and whose it is, checked against the file size at the end. */
  private dataEnd = 0;
  private dataEndTensor = '';

  constructor() {
    this.parser = this.parse();
    this.advance(undefined);
  }

  /** Bytes held to read the header: one value at a time, at most a kept string or a key. */
  get bufferedBytes(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    let off = 0;
    while (this.need && off < chunk.length) {
      if ('skip' in this.need) {
        const n = Math.min(this.need.skip, chunk.length - off);
        off += n;
        this.consumed += n;
        this.need.skip -= n;
        if (this.need.skip === 0) this.advance(undefined);
        continue;
      }
      const n = Math.min(this.need.read - this.filled, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      this.consumed += n;
      if (this.filled === this.need.read) this.advance(this.buf.subarray(0, this.filled));
    }
  }

  /** The summary once the whole file went past. */
  finish(): GgufSummary {
    const s: GgufSummary = { ...this.summary };
    const problems = [...this.problems];
    if (this.need) problems.unshift(`truncated: the file ends at byte ${this.total}, inside ${this.where}`);
    else if (this.summary.header_bytes > 0) {
      const dataStart = Math.ceil(this.summary.header_bytes / this.alignment) * this.alignment;
      if (dataStart + this.dataEnd > this.total)
        problems.push(`tensor ${this.dataEndTensor} ends at byte ${dataStart + this.dataEnd}, beyond the file's ${this.total} bytes`);
    }
    if (problems.length > 0) s.problems = problems.slice(0, MAX_PROBLEMS);
    return s;
  }

  private advance(value: Uint8Array | undefined): void {
    for (;;) {
      let next: IteratorResult<Need, void>;
      try {
        next = this.parser.next(value as Uint8Array);
      } catch (e) {
        if (!(e instanceof Fatal)) throw e;
        this.problems.unshift(e.problem);
        this.need = undefined;
        return;
      }
      if (next.done) {
        this.need = undefined;
        return;
      }
      const size = 'read' in next.value ? next.value.read : next.value.skip;
      if (this.consumed + size > GGUF_HEADER_MAX_BYTES) {
        this.problems.unshift(`header too large: ${this.where} would take it past ${GGUF_HEADER_MAX_BYTES} bytes`);
        this.need = undefined;
        return;
      }
      this.need = next.value;
      this.filled = 0;
      if ('read' in next.value && this.buf.length < size) this.buf = new Uint8Array(Math.max(size, 64));
      if (size > 0) return;
      value = this.buf.subarray(0, 0);
    }
  }

  private problem(p: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
  }

  private *parse(): Parse {
    const magic = yield* this.u32();
    if (magic !== MAGIC) throw new Fatal('not a GGUF file: the magic is not "GGUF"');
    this.where = 'the version';
    const version = yield* this.u32();
    if (version !== 2 && version !== 3) throw new Fatal(`unsupported GGUF version ${version} (versions 2 and 3 are read)`);
    this.summary.version = version;
    this.where = 'the counts';
    const tensors = yield* this.count('tensor');
    const kvs = yield* this.count('metadata key');
    for (let i = 0; i < kvs; i++) {
      this.where = `metadata key ${i}`;
      const key = yield* this.string(GGUF_KEPT_STRING_BYTES, 'a metadata key');
      const label = key === undefined ? `metadata key ${i}` : `metadata key ${JSON.stringify(key.slice(0, 200))}`;
      this.where = label;
      const type = yield* this.u32();
      const value = yield* this.value(type, label, 0, true);
      this.keep(key, type, value);
    }
    for (let i = 0; i < tensors; i++) {
      this.where = `tensor info ${i}`;
      yield* this.tensorInfo(i);
    }
    this.summary.header_bytes = this.consumed;
    this.buf = new Uint8Array(0);
  }

  private *tensorInfo(i: number): Parse {
    const name = yield* this.string(GGUF_KEPT_STRING_BYTES, 'a tensor name');
    const label = name === undefined ? `tensor ${i}` : `tensor ${JSON.stringify(name)}`;
    this.where = label;
    const dims = yield* this.u32();
    if (dims > MAX_DIMS) throw new Fatal(`${label} has ${dims} dimensions, at most ${MAX_DIMS} exist`);
    let parameters = 1;
    let first = 1;
    for (let d = 0; d < dims; d++) {
      const n = yield* this.u64();
      if (d === 0) first = n;
      parameters *= n;
      if (!Number.isSafeInteger(parameters)) throw new Fatal(`${label} has dimensions whose product is beyond 2^53`);
    }
    const type = yield* this.u32();
    const offset = yield* this.u64();
    const known = GGML_TYPES[type];
    const dtype = known?.[0] ?? `type ${type}`;
    this.summary.tensors++;
    this.summary.parameters += parameters;
    const d = this.summary.dtypes[dtype] ?? { tensors: 0, parameters: 0 };
    this.summary.dtypes[dtype] = d;
    d.tensors++;
    d.parameters += parameters;
    if (!known) return this.problem(`${label} has unknown ggml type ${type}`);
    const [, block, blockBytes] = known;
    if (first % block !== 0) return this.problem(`${label} is ${dtype}, whose blocks hold ${block} values, but its first dimension is ${first}`);
    if (offset % this.alignment !== 0) return this.problem(`${label} starts at offset ${offset}, not a multiple of the alignment ${this.alignment}`);
    const end = offset + (parameters / block) * blockBytes;
    if (end > this.dataEnd) {
      this.dataEnd = end;
      this.dataEndTensor = name === undefined ? String(i) : JSON.stringify(name);
    }
  }

  /** Reads a value of GGUF type `type` when `wanted` and it is a scalar or a short string; skips it otherwise. */
  private *value(type: number, label: string, depth: number, wanted: boolean): Generator<Need, GgufValue | undefined, Uint8Array> {
    const size = SCALAR_BYTES[type];
    if (size !== undefined) return scalar(type, yield { read: size });
    if (type === STRING) return yield* this.string(wanted ? GGUF_KEPT_STRING_BYTES : 0, `a string in ${label}`);
    if (type !== ARRAY) throw new Fatal(`${label} has unknown value type ${type}`);
    const itemType = yield* this.u32();
    const length = yield* this.u64();
    const itemSize = SCALAR_BYTES[itemType];
    const least = itemSize ?? (itemType === STRING ? 8 : itemType === ARRAY ? 12 : 0);
    if (least === 0) throw new Fatal(`${label} is an array of unknown value type ${itemType}`);
    if (length * least > GGUF_HEADER_MAX_BYTES - this.consumed)
      throw new Fatal(`${label} claims ${length} elements, more than the header limit of ${GGUF_HEADER_MAX_BYTES} bytes can hold`);
    if (itemSize !== undefined) {
      yield { skip: length * itemSize };
      return undefined;
    }
    if (itemType === ARRAY && depth + 1 >= MAX_ARRAY_DEPTH) throw new Fatal(`${label} nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
    for (let i = 0; i < length; i++) yield* this.value(itemType, label, depth + 1, false);
    return undefined;
  }

  /** A string of at most `keep` bytes as text; a longer one (up to the string cap) is skipped. */
  private *string(keep: number, what: string): Generator<Need, string | undefined, Uint8Array> {
    const length = yield* this.u64();
    if (length > GGUF_STRING_MAX_BYTES) throw new Fatal(`${this.where}: ${what} claims ${length} bytes, more than ${GGUF_STRING_MAX_BYTES}`);
    if (length > keep) {
      yield { skip: length };
      return undefined;
    }
    return utf8.decode(yield { read: length });
  }

  private *count(what: string): Generator<Need, number, Uint8Array> {
    const n = yield* this.u64();
    if (n > GGUF_MAX_COUNT) throw new Fatal(`${what} count ${n} is more than ${GGUF_MAX_COUNT}`);
    return n;
  }

  private *u32(): Generator<Need, number, Uint8Array> {
    const b = yield { read: 4 };
    return view(b).getUint32(0, true);
  }

  /** A u64 as a number; above 2^53 it stays approximate, which every cap it meets still refuses. */
  private *u64(): Generator<Need, number, Uint8Array> {
    const b = yield { read: 8 };
    return Number(view(b).getBigUint64(0, true));
  }

  private keep(key: string | undefined, type: number, value: GgufValue | undefined): void {
    if (key === 'general.alignment') {
      if (typeof value === 'number' && type === UINT32 && value > 0 && (value & (value - 1)) === 0) this.alignment = value;
      else this.problem(`general.alignment must be a power of two stored as u32, not ${JSON.stringify(value ?? null)} of value type ${type}`);
    }
    if (key === 'general.architecture' && typeof value === 'string') this.summary.architecture = value;
    if (key === 'general.name' && typeof value === 'string') this.summary.name = value;
    if (key === 'general.file_type' && typeof value === 'number') {
      this.summary.file_type = value;
      const q = FILE_TYPES[value];
      if (q) this.summary.quantization = q;
    }
    const size = key === undefined || value === undefined ? 0 : JSON.stringify(key).length + JSON.stringify(value).length + 2;
    if (key === undefined || value === undefined || this.keptBytes + size > GGUF_METADATA_MAX_BYTES) {
      this.summary.metadata_omitted = (this.summary.metadata_omitted ?? 0) + 1;
      return;
    }
    this.keptBytes += size;
    this.summary.metadata[key] = value;
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A scalar value; 64-bit integers beyond 2^53 and non-finite floats become strings, as JSON cannot hold them. */
function scalar(type: number, b: Uint8Array): GgufValue {
  const v = view(b);
  switch (type) {
    case 0:
      return v.getUint8(0);
    case 1:
      return v.getInt8(0);
    case 2:
      return v.getUint16(0, true);
    case 3:
      return v.getInt16(0, true);
    case 4:
      return v.getUint32(0, true);
    case 5:
      return v.getInt32(0, true);
    case 6:
      return finite(v.getFloat32(0, true));
    case 7:
      return v.getUint8(0) !== 0;
    case 10:
      return exact(v.getBigUint64(0, true));
    case 11:
      return exact(v.getBigInt64(0, true));
    default:
      return finite(v.getFloat64(0, true));
  }
}

function exact(n: bigint): number | string {
  const x = Number(n);
  return Number.isSafeInteger(x) ? x : n.toString();
}

function finite(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}
