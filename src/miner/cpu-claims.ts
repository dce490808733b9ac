import { chmodSync, closeSync, fchmodSync, constants, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tryLockFile } from "./affinity";

/** Environment variable naming the claims directory (tests, or hosts where /dev/shm is not shared). */
export const CLAIMS_DIR_ENV = "RIGNODE_CPU_CLAIMS_DIR";

/**
 * Where rignode processes on this host record the CPUs their mining threads are pinned to: $RIGNODE_CPU_CLAIMS_DIR,
 * else /dev/shm/rignode-cpus (tmpfs, shared by every user), else rignode-cpus under the temp directory.
 */
export function defaultClaimsDir(env: Record<string, string | undefined> = process.env): string {
  const set = env[CLAIMS_DIR_ENV];
  if (set) return set;
  try {
    if (statSync("/dev/shm").isDirectory()) return "/dev/shm/rignode-cpus";
  } catch {
    // no /dev/shm here
  }
  return join(tmpdir(), "rignode-cpus");
}

/**
 * The CPUs this engine has pinned threads to, claimed against every other rignode process on the host: one file
 * per CPU (`cpu-N`) in a shared directory, held with an exclusive flock(2). The kernel drops a lock when its file is
 * closed or its process dies, so a crashed process leaves no stale claim and two processes racing for a CPU cannot
 * both win (a pid file checked with kill(pid, 0) can do neither). The file holds the owner's pid for people.
 * Files are never deleted: unlinking a locked file would let a third process lock a new file of the same name.
 */
export class CpuClaims {
  private readonly fds = new Map<number, number>();

  /** Creates the directory (sticky and writable by all, like /tmp) if needed; throws when it cannot be used. */
  constructor(readonly dir: string, private readonly pid = process.pid) {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o1777 });
      try {
        chmodSync(dir, 0o1777); // the umask took bits off; other users' processes must create their claims too
      } catch {
        // not ours to change: claims of other users may then fail, which only costs them pinning
      }
    }
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  }

  /** Claims `cpu` for this process; true when it is held now (false: another process, or another engine here, holds it). */
  tryClaim(cpu: number): boolean {
    if (this.fds.has(cpu)) return true;
    const path = join(this.dir, `cpu-${cpu}`);
    let fd: number;
    let writable = true;
    try {
      // O_NOFOLLOW: in a directory every user can write to, a planted symlink must not make us truncate its target.
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o666);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EACCES") return false;
      try {
        fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW); // another user's file: a read-only fd locks too
        writable = false;
      } catch {
        return false;
      }
    }
    if (!tryLockFile(fd)) {
      closeSync(fd);
      return false;
    }
    this.fds.set(cpu, fd);
    const st = fstatSync(fd);
    if (writable && st.isFile() && st.nlink === 1) {
      try {
        if (st.uid === process.getuid?.()) fchmodSync(fd, 0o666); // the open file, never a path someone could swap
        ftruncateSync(fd, 0);
        writeSync(fd, `${this.pid}\n`, 0);
      } catch {
        // the pid is only for people reading the directory
      }
    }
    return true;
  }

  /** Gives up the claim on one CPU. */
  releaseCpu(cpu: number): void {
    const fd = this.fds.get(cpu);
    if (fd === undefined) return;
    this.fds.delete(cpu);
    closeSync(fd);
  }

  /** The pid written in `cpu`'s claim file (its last holder; it holds it still only if the CPU cannot be claimed). */
  holder(cpu: number): number | null {
    try {
      const n = Number.parseInt(readFileSync(join(this.dir, `cpu-${cpu}`), "utf8"), 10);
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  }

  /** CPUs held by this object. */
  held(): number[] {
    return [...this.fds.keys()].sort((a, b) => a - b);
  }

  /** Gives every claim up (closing the files drops the locks). */
  release(): void {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.fds.clear();
  }
}
