import { GgufScanner, type GgufSummary } from './gguf-scan.js';
import { PickleScanner, type PickleSummary } from './pickle-scan.js';
import { SafetensorsScanner, type SafetensorsSummary } from './safetensors-scan.js';
import { ZipScanner, type ZipSummary } from './zip-scan.js';

/** What inspecting a blob found; stored per blob and attached to the versions holding it (decision 0016). */
export type BlobInspection = SafetensorsSummary | GgufSummary | PickleSummary | ZipSummary;

/** Version flags an inspection can raise. */
export type InspectionFlag = 'unsafe-pickle' | 'invalid-safetensors' | 'invalid-gguf';

/** Bytes looked at before deciding what a blob is. */
const SNIFF_BYTES = 64;

type Scanner = SafetensorsScanner | GgufScanner | PickleScanner | ZipScanner;

/**
 * Recognises a blob by its first bytes, whatever its file will be called — safetensors by its
 * header shape, GGUF by its magic, a zip by `PK\x03\x04`, a pickle by PROTO or by its first
 * opcodes — and hands the stream to that format's scanner. Fed chunk by chunk while the blob is stored; never reads a
 * byte itself, and holds only the sniffing window and what the chosen scanner keeps.
 */
export class BlobInspector {
  private head: number[] = [];
  private scanner: Scanner | undefined;
  private decided = false;

  push(chunk: Uint8Array): void {
    if (this.decided) {
      this.scanner?.push(chunk);
      return;
    }
    const n = Math.min(SNIFF_BYTES - this.head.length, chunk.length);
    for (let i = 0; i < n; i++) this.head.push(chunk[i] as number);
    if (this.head.length < SNIFF_BYTES) return;
    this.decide();
    if (n < chunk.length) this.scanner?.push(chunk.subarray(n));
  }

  /** Bytes held to inspect (the sniffing window, a safetensors header, a GGUF value); a pickle or zip walk holds a few names only. */
  get bufferedBytes(): number {
    if (this.scanner instanceof SafetensorsScanner || this.scanner instanceof GgufScanner) return this.scanner.bufferedBytes;
    return this.head.length;
  }

  /** What the blob is, once all of it went past; undefined for a format not inspected. */
  finish(): BlobInspection | undefined {
    if (!this.decided) this.decide();
    return this.scanner?.finish();
  }

  private decide(): void {
    this.decided = true;
    const h = this.head;
    this.scanner = sniff(h);
    this.scanner?.push(new Uint8Array(h));
  }
}

function sniff(h: number[]): Scanner | undefined {
  if (h[0] === 0x50 && h[1] === 0x4b && h[2] === 0x03 && h[3] === 0x04) return new ZipScanner();
  if (h[0] === 0x47 && h[1] === 0x47 && h[2] === 0x55 && h[3] === 0x46) return new GgufScanner();
  if (h[0] === 0x80 && h.length > 1 && (h[1] as number) <= 5) return new PickleScanner();
  // A safetensors length is little-endian: a real one has zero high bytes, and JSON follows.
  if (h.length >= 9 && h[8] === 0x7b && h[6] === 0 && h[7] === 0) return new SafetensorsScanner();
  // Protocol 0/1 has no PROTO: the head is walked, and taken for a pickle when it walks cleanly
  // to an import or a STOP (text fails at once: a letter is an opcode whose argument is wrong).
  const trial = new PickleScanner();
  trial.push(new Uint8Array(h));
  return trial.plausible ? new PickleScanner() : undefined;
}

/** The version flags an inspection raises, with the reasons to show. */
export function inspectionFlags(i: BlobInspection): { flag: InspectionFlag; reasons: string[] } | undefined {
  if (i.format === 'safetensors') return i.problems ? { flag: 'invalid-safetensors', reasons: i.problems } : undefined;
  if (i.format === 'gguf') return i.problems ? { flag: 'invalid-gguf', reasons: i.problems } : undefined;
  const reasons = [...i.unsafe_globals.map((g) => `imports ${g}`), ...(i.problems ?? [])];
  if (i.format === 'zip') for (const p of i.pickles) for (const problem of p.problems ?? []) reasons.push(`${p.path}: ${problem}`);
  return reasons.length > 0 ? { flag: 'unsafe-pickle', reasons } : undefined;
}
