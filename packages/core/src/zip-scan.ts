import { Inflate } from 'fflate';
import { PickleScanner, type PickleSummary } from './pickle-scan.js';

/**
 * Walks a zip's local file headers as the archive streams past (APPNOTE.TXT §4.3) and scans
 * every `.pkl` entry with `PickleScanner` — torch.save's zip format keeps the object in
 * `<name>/data.pkl` and the tensor bytes in other, stored entries, which are skipped unread.
 * Deflated pickles are inflated in a stream with the output counted: past
 * `ZIP_INFLATE_MAX_BYTES`, or `ZIP_RATIO_MAX` times the compressed bytes, the entry is a bomb
 * and inflating stops. The walk ends at the central directory; loaders read entries through it,
 * so an entry this walk cannot follow (no sizes in its header, encrypted, an unknown method) is
 * a problem rather than something skipped.
 */

export const ZIP_INFLATE_MAX_BYTES = 256 * 1024 * 1024;
export const ZIP_RATIO_MAX = 200;
/** Inflated bytes allowed before the ratio applies (a tiny compressible pickle is no bomb). */
const RATIO_FLOOR = 1024 * 1024;
const LOCAL_HEADER = 0x04034b50;
const END_SIGNATURES = new Set([0x02014b50, 0x06054b50, 0x06064b50]);
const DESCRIPTOR = 0x08074b50;

export interface ZipSummary {
  format: 'zip';
  entries: number;
  pickles: Array<PickleSummary & { path: string }>;
  unsafe_globals: string[];
  problems?: string[];
}

interface Entry {
  name: string;
  method: number;
  flags: number;
  compressed: number;
  declared: number;
  zip64: boolean;
  scanner?: PickleScanner;
  inflate?: Inflate;
  inflated: number;
  bomb: boolean;
}

type State = 'header' | 'names' | 'data' | 'descriptor' | 'done';

export class ZipScanner {
  private state: State = 'header';
  private buf: number[] = [];
  private need = 4;
  private remaining = 0;
  private entry: Entry | undefined;
  private entries = 0;
  private readonly pickles: Array<PickleSummary & { path: string }> = [];
  private readonly problems: string[] = [];

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, chunk.length - off);
        this.feed(chunk.subarray(off, off + n), this.remaining === n);
        this.remaining -= n;
        off += n;
        if (this.remaining === 0) this.endData();
        continue;
      }
      const n = Math.min(this.need - this.buf.length, chunk.length - off);
      for (let i = 0; i < n; i++) this.buf.push(chunk[off + i] as number);
      off += n;
      if (this.buf.length === this.need) this.gathered();
    }
  }

  finish(): ZipSummary {
    if (this.state !== 'done' && !(this.state === 'header' && this.buf.length === 0 && this.entries > 0))
      this.problems.push(`truncated: the archive ends inside ${this.entry ? `entry ${JSON.stringify(this.entry.name)}` : 'a header'}`);
    if (this.state === 'data' && this.entry) this.closeEntry();
    const unsafe = new Set(this.pickles.flatMap((p) => p.unsafe_globals));
    const summary: ZipSummary = { format: 'zip', entries: this.entries, pickles: this.pickles, unsafe_globals: [...unsafe].sort() };
    if (this.problems.length > 0) summary.problems = this.problems;
    return summary;
  }

  private stop(problem: string): void {
    this.problems.push(problem);
    this.state = 'done';
  }

  private gathered(): void {
    const b = this.buf;
    if (this.state === 'header' && this.need === 4) {
      const sig = u32(b, 0);
      if (END_SIGNATURES.has(sig)) {
        this.state = 'done';
        return;
      }
      if (sig !== LOCAL_HEADER) {
        this.stop(`unexpected bytes where a zip entry should start (signature 0x${sig.toString(16)})`);
        return;
      }
      this.need = 30;
      return;
    }
    if (this.state === 'header') {
      this.entry = {
        name: '',
        flags: u16(b, 6),
        method: u16(b, 8),
        compressed: u32(b, 18),
        declared: u32(b, 22),
        zip64: false,
        inflated: 0,
        bomb: false,
      };
      this.state = 'names';
      this.need = 30 + u16(b, 26) + u16(b, 28);
      if (this.need === 30) this.gathered();
      return;
    }
    if (this.state === 'names') {
      const e = this.entry as Entry;
      const nameLength = u16(b, 26);
      e.name = new TextDecoder().decode(new Uint8Array(b.slice(30, 30 + nameLength)));
      readZip64(e, b.slice(30 + nameLength));
      this.entries++;
      this.buf = [];
      this.startData(e);
      return;
    }
    // The data descriptor: optional signature, crc, then the sizes (8 bytes each in zip64).
    const sizes = (this.entry as Entry).zip64 ? 16 : 8;
    if (this.need === 4) {
      this.need = u32(b, 0) === DESCRIPTOR ? 8 + sizes : 4 + sizes;
      return;
    }
    this.next();
  }

  private startData(e: Entry): void {
    if (e.flags & 0x08 && e.compressed === 0) {
      this.stop(`entry ${JSON.stringify(e.name)} has no sizes in its header (a streamed zip): it cannot be scanned`);
      return;
    }
    if (e.declared > RATIO_FLOOR && e.declared > e.compressed * ZIP_RATIO_MAX)
      this.problems.push(`zip bomb: entry ${JSON.stringify(e.name)} declares ${e.declared} bytes from ${e.compressed} compressed`);
    if (/\.pkl$/i.test(e.name)) {
      if (e.flags & 0x01) this.problems.push(`entry ${JSON.stringify(e.name)} is encrypted: it cannot be scanned`);
      else if (e.method !== 0 && e.method !== 8)
        this.problems.push(`entry ${JSON.stringify(e.name)} uses compression method ${e.method}: it cannot be scanned`);
      else {
        const scanner = new PickleScanner();
        e.scanner = scanner;
        if (e.method === 8) {
          e.inflate = new Inflate((data) => this.inflated(e, data));
        }
      }
    }
    this.state = 'data';
    this.remaining = e.compressed;
    if (this.remaining === 0) this.endData();
  }

  private feed(data: Uint8Array, final: boolean): void {
    const e = this.entry as Entry;
    if (!e.scanner || e.bomb) return;
    if (!e.inflate) {
      e.scanner.push(data);
      return;
    }
    try {
      e.inflate.push(data, final);
    } catch (err) {
      e.bomb = true;
      this.problems.push(`entry ${JSON.stringify(e.name)} does not inflate: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private inflated(e: Entry, data: Uint8Array): void {
    if (e.bomb) return;
    e.inflated += data.length;
    if (e.inflated > ZIP_INFLATE_MAX_BYTES || (e.inflated > RATIO_FLOOR && e.inflated > e.compressed * ZIP_RATIO_MAX)) {
      e.bomb = true;
      this.problems.push(`zip bomb: entry ${JSON.stringify(e.name)} inflates past ${e.inflated} bytes from ${e.compressed} compressed; inflating stopped`);
      return;
    }
    e.scanner?.push(data);
  }

  private closeEntry(): void {
    const e = this.entry as Entry;
    if (e.scanner) {
      const summary = e.scanner.finish();
      if (e.bomb) summary.problems = [...(summary.problems ?? []), 'not fully scanned'];
      this.pickles.push({ path: e.name, ...summary });
    }
  }

  private endData(): void {
    this.closeEntry();
    const e = this.entry as Entry;
    if (e.flags & 0x08) {
      this.state = 'descriptor';
      this.buf = [];
      this.need = 4;
      return;
    }
    this.next();
  }

  private next(): void {
    this.entry = undefined;
    this.state = 'header';
    this.buf = [];
    this.need = 4;
  }
}

/** Sizes of 0xffffffff live in the zip64 extra field (id 0x0001): uncompressed, then compressed. */
function readZip64(e: Entry, extra: number[]): void {
  if (e.compressed !== 0xffffffff && e.declared !== 0xffffffff) return;
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = u16(extra, at);
    const size = u16(extra, at + 2);
    if (id === 0x0001) {
      let p = at + 4;
      e.zip64 = true;
      if (e.declared === 0xffffffff && p + 8 <= extra.length) {
        e.declared = u64(extra, p);
        p += 8;
      }
      if (e.compressed === 0xffffffff && p + 8 <= extra.length) e.compressed = u64(extra, p);
      return;
    }
    at += 4 + size;
  }
}

function u16(b: number[], at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}

function u32(b: number[], at: number): number {
  return (u16(b, at) + u16(b, at + 2) * 0x10000) >>> 0;
}

function u64(b: number[], at: number): number {
  return u32(b, at) + u32(b, at + 4) * 0x100000000;
}
