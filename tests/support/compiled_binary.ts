/**
 * Reads what `deno compile` (Deno 2.9) embedded in a binary: the metadata (permissions, entry
 * point, unstable features) and the files of its virtual file system, so tests can check what a
 * compiled collector carries without running it.
 *
 * The layout read here: the magic `d3n0l4nd`, then sections each made of a little-endian u64 length
 * and that many bytes — the metadata JSON first; later the file system's directory tree as JSON
 * (`[{"Dir":{"n":…,"e":[…]}}, {"File":{"n":…,"o":[offset, length]}}]`) followed by the section
 * holding the files' bytes at those offsets. A change of that layout fails with a message.
 *
 * @module
 */

const MAGIC = new TextEncoder().encode("d3n0l4nd");
const decoder = new TextDecoder();

/** What a compiled binary carries. */
export interface EmbeddedContent {
  /** The metadata, as JSON. */
  metadata: Record<string, unknown>;
  /** Every file of the virtual file system by its path ("ffi/build/libpgquerylens.so"). */
  files: Map<string, Uint8Array>;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function u64(bytes: Uint8Array, at: number): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0, true));
}

function tryJson(bytes: Uint8Array, at: number, length: number): unknown {
  if (length <= 0 || at + length > bytes.length) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes.subarray(at, at + length)));
  } catch {
    return undefined;
  }
}

type Entry = { Dir?: { n: string; e: Entry[] }; File?: { n: string; o: [number, number] } };

function walk(entries: Entry[], prefix: string, out: Map<string, [number, number]>): void {
  for (const e of entries) {
    if (e.Dir) walk(e.Dir.e, `${prefix}${e.Dir.n}/`, out);
    else if (e.File) out.set(`${prefix}${e.File.n}`, e.File.o);
  }
}

/**
 * The metadata and files embedded in `binary`.
 *
 * @throws Error when the binary does not have the layout described above
 */
export function readEmbedded(binary: Uint8Array): EmbeddedContent {
  let metaAt = -1;
  for (let i = indexOf(binary, MAGIC); i !== -1; i = indexOf(binary, MAGIC, i + 1)) {
    if (binary[i + 16] === 0x7b && tryJson(binary, i + 16, u64(binary, i + 8)) !== undefined) {
      metaAt = i;
      break;
    }
  }
  if (metaAt === -1) throw new Error("no deno compile metadata (magic, length, JSON) in the binary");
  const metaLength = u64(binary, metaAt + 8);
  const metadata = tryJson(binary, metaAt + 16, metaLength) as Record<string, unknown>;
  const tree = new TextEncoder().encode('[{"');
  for (let i = indexOf(binary, tree, metaAt + 16 + metaLength); i !== -1; i = indexOf(binary, tree, i + 1)) {
    const length = u64(binary, i - 8);
    const entries = tryJson(binary, i, length);
    if (!Array.isArray(entries)) continue;
    const offsets = new Map<string, [number, number]>();
    walk(entries as Entry[], "", offsets);
    const dataAt = i + length + 8;
    const dataLength = u64(binary, i + length);
    const files = new Map<string, Uint8Array>();
    for (const [path, [offset, size]] of offsets) {
      if (offset + size > dataLength) throw new Error(`file ${path} lies outside the data section`);
      files.set(path, binary.subarray(dataAt + offset, dataAt + offset + size));
    }
    return { metadata, files };
  }
  throw new Error("no virtual file system tree after the deno compile metadata");
}
