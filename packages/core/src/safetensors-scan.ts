/**
 * Reads a safetensors file's header as the file streams past, never its tensor bytes
 * (https://huggingface.co/docs/safetensors#format): 8 bytes of little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`, then the
 * data buffer, which the tensors must cover exactly (no holes, no overlaps). Only the header is
 * held in memory, and at most `SAFETENSORS_HEADER_MAX_BYTES` of it.
 */

/** Headers longer than this are refused unread (the reference reader's own limit is 100 MB). */
export const SAFETENSORS_HEADER_MAX_BYTES = 100 * 1024 * 1024;
/** `__metadata__` larger than this (as JSON) is left out of the summary, which lands in version metadata. */
export const SAFETENSORS_METADATA_MAX_BYTES = 64 * 1024;

/** Bits per element of each dtype the format defines. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  I64: 64,
  U64: 64,
  F64: 64,
};

export interface SafetensorsSummary {
  format: 'safetensors';
  header_bytes: number;
  tensors: number;
  parameters: number;
  dtypes: Record<string, { tensors: number; parameters: number }>;
  metadata?: Record<string, string>;
  /** Size of a `__metadata__` too large to copy into the summary. */
  metadata_bytes_omitted?: number;
  /** Why the header cannot be trusted; absent when it is valid. */
  problems?: string[];
}

interface Entry {
  name: string;
  begin: number;
  end: number;
}

export class SafetensorsScanner {
  private lengthBytes: number[] = [];
  private headerLength = -1;
  private header: Uint8Array | undefined;
  private filled = 0;
  private total = 0;
  private refused: string | undefined;

  /** Bytes held to read the header (the 8-byte length and the JSON). */
  get bufferedBytes(): number {
    return this.lengthBytes.length + (this.header?.length ?? 0);
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    let off = 0;
    while (this.headerLength < 0 && off < chunk.length) {
      this.lengthBytes.push(chunk[off++] as number);
      if (this.lengthBytes.length === 8) this.startHeader();
    }
    if (!this.header || this.filled === this.header.length || off >= chunk.length) return;
    const n = Math.min(chunk.length - off, this.header.length - this.filled);
    this.header.set(chunk.subarray(off, off + n), this.filled);
    this.filled += n;
  }

  private startHeader(): void {
    let n = 0;
    for (let i = 7; i >= 0; i--) n = n * 256 + (this.lengthBytes[i] as number);
    this.headerLength = n;
    if (n > SAFETENSORS_HEADER_MAX_BYTES) this.refused = `header too large: ${n} bytes claimed, at most ${SAFETENSORS_HEADER_MAX_BYTES} are read`;
    else this.header = new Uint8Array(n);
  }

  /** The summary once the whole file went past. */
  finish(): SafetensorsSummary {
    const summary: SafetensorsSummary = { format: 'safetensors', header_bytes: Math.max(this.headerLength, 0), tensors: 0, parameters: 0, dtypes: {} };
    const fail = (problem: string): SafetensorsSummary => ({ ...summary, problems: [problem] });
    if (this.headerLength < 0) return fail(`truncated: the file has ${this.total} bytes, fewer than the 8 of the header length`);
    if (this.refused) return fail(this.refused);
    const dataSize = this.total - 8 - this.headerLength;
    if (dataSize < 0) return fail(`header length ${this.headerLength} goes beyond the file's ${this.total} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(this.header));
    } catch {
      return fail('the header is not UTF-8 JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('the header is not a JSON object');
    const problems: string[] = [];
    const entries: Entry[] = [];
    for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
      if (name === '__metadata__') {
        const meta = checkMetadata(raw);
        const size = JSON.stringify(raw).length;
        if (typeof meta === 'string') problems.push(meta);
        else if (size > SAFETENSORS_METADATA_MAX_BYTES) summary.metadata_bytes_omitted = size;
        else summary.metadata = meta;
        continue;
      }
      const entry = checkTensor(name, raw, dataSize);
      if (typeof entry === 'string') {
        problems.push(entry);
        continue;
      }
      entries.push(entry.at);
      summary.tensors++;
      summary.parameters += entry.parameters;
      const d = summary.dtypes[entry.dtype] ?? { tensors: 0, parameters: 0 };
      summary.dtypes[entry.dtype] = d;
      d.tensors++;
      d.parameters += entry.parameters;
    }
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    let at = 0;
    for (const e of entries) {
      if (e.begin < at) problems.push(`tensor ${JSON.stringify(e.name)} overlaps the one before it (starts at ${e.begin}, before ${at})`);
      else if (e.begin > at) problems.push(`bytes ${at}-${e.begin} of the data belong to no tensor (before ${JSON.stringify(e.name)})`);
      at = Math.max(at, e.end);
    }
    if (problems.length === 0 && at !== dataSize) problems.push(`the tensors cover ${at} of the data's ${dataSize} bytes`);
    if (problems.length > 0) summary.problems = problems.slice(0, 20);
    return summary;
  }
}

function checkMetadata(raw: unknown): Record<string, string> | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return '__metadata__ is not an object';
  for (const v of Object.values(raw)) if (typeof v !== 'string') return '__metadata__ values must be strings';
  return raw as Record<string, string>;
}

function checkTensor(name: string, raw: unknown, dataSize: number): { at: Entry; dtype: string; parameters: number } | string {
  const label = `tensor ${JSON.stringify(name.slice(0, 200))}`;
  if (typeof raw !== 'object' || raw === null) return `${label} is not an object`;
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  const bits = typeof dtype === 'string' && Object.hasOwn(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype] : undefined;
  if (bits === undefined) return `${label} has unknown dtype ${JSON.stringify(dtype)}`;
  if (!Array.isArray(shape) || !shape.every(isCount)) return `${label} has a shape that is not a list of sizes`;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return `${label} has data_offsets that are not [begin, end]`;
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataSize) return `${label} has data_offsets [${begin}, ${end}] outside the data's ${dataSize} bytes`;
  const parameters = (shape as number[]).reduce((a, b) => a * b, 1);
  const bytes = (parameters * bits) / 8;
  if (bytes !== end - begin) return `${label} is ${dtype} of shape [${shape.join(', ')}]: ${bytes} bytes, but its data_offsets span ${end - begin}`;
  return { at: { name, begin, end }, dtype: dtype as string, parameters };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
