import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { RignodeError, type ErrorCode } from "./errors";

/** 1 MiB: the most a config or network file may hold (a JSON document of settings is a few kilobytes). */
export const MAX_CONFIG_BYTES = 1 << 20;

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "exists and is not a directory",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "name too long",
  EIO: "input/output error",
};

/** A filesystem error in a few words with its code ("permission denied (EACCES)"), for one-line messages. */
export function fsReason(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException)?.code;
  if (code && REASONS[code]) return `${REASONS[code]} (${code})`;
  const message = String((cause as Error)?.message ?? cause).split("\n")[0]!;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** What a path that is not a regular file is, in words. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a named pipe";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Reads a small regular file as UTF-8. Devices, pipes, directories and files over `maxBytes` are refused before a
 * byte is read (RIGNODE_CONFIG=/dev/zero once read until memory ran out; a named pipe would block start-up).
 * `what` names the file in the message ("config file"); `code` is the error's code (config: exit 2).
 */
export function readRegularFile(path: string, o: { what: string; maxBytes: number; code?: ErrorCode; todo?: string }): string {
  const code = o.code ?? "config";
  const todo = o.todo ? `; ${o.todo}` : "";
  const fail = (why: string, cause?: unknown) => new RignodeError(code, `${o.what} ${path}: ${why}${todo}`, cause === undefined ? undefined : { cause });
  const check = (st: Stats) => {
    if (!st.isFile()) throw fail(`${fileKind(st)}, not a regular file`);
    if (st.size > o.maxBytes) throw fail(`${st.size} bytes, more than the ${o.maxBytes} bytes allowed`);
  };
  let fd: number;
  try {
    check(statSync(path));
    // Non-blocking: a file swapped for a named pipe after the check fails instead of waiting for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    if (cause instanceof RignodeError) throw cause;
    throw fail(`cannot be read (${(cause as NodeJS.ErrnoException).code ?? fsReason(cause)})`, cause);
  }
  try {
    check(fstatSync(fd));
    // Reads at most maxBytes + 1: a file that grows (or a /proc file that says size 0) is still bounded.
    const buf = Buffer.alloc(o.maxBytes + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > o.maxBytes) throw fail(`more than the ${o.maxBytes} bytes allowed`);
    return buf.subarray(0, n).toString("utf8");
  } catch (cause) {
    if (cause instanceof RignodeError) throw cause;
    throw fail(`cannot be read (${fsReason(cause)})`, cause);
  } finally {
    closeSync(fd);
  }
}
