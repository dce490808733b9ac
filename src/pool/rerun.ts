// "Run once, then once more if asked meanwhile": a job build or a template fetch never runs twice at the same
// time, and every ask made while one runs is answered by a single run after it (a burst of tips makes one job).

export class RunAgain<A = void> {
  private busy = false;
  private asked = false;
  private queued: A | undefined;
  private idle: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  /**
   * @param task one run; may return a promise (the next run waits for it). It handles its own errors: a throw or a
   *   rejection is swallowed here so the runs that follow still happen.
   * @param merge the argument of the next run from the one already queued and a new ask (default: the newest).
   * @param more whether a queued run still happens when its turn comes (false: dropped, e.g. once stopped).
   */
  constructor(
    private readonly task: (arg: A) => void | Promise<void>,
    private readonly merge: (queued: A, arg: A) => A = (_q, a) => a,
    private readonly more: () => boolean = () => true,
  ) {}

  get running(): boolean {
    return this.busy;
  }

  /** Runs now (synchronously up to the task's first await), or queues one more run; resolves when none is left. */
  ask(arg: A): Promise<void> {
    if (this.busy) {
      this.queued = this.asked ? this.merge(this.queued as A, arg) : arg;
      this.asked = true;
      return this.waitIdle();
    }
    this.busy = true;
    this.step(arg);
    return this.busy ? this.waitIdle() : Promise.resolve();
  }

  private waitIdle(): Promise<void> {
    return (this.idle ??= new Promise<void>((r) => (this.wake = r)));
  }

  private step(arg: A): void {
    let r: void | Promise<void>;
    try {
      r = this.task(arg);
    } catch {
      r = undefined;
    }
    if (r instanceof Promise) r.then(() => this.after(), () => this.after());
    else this.after();
  }

  private after(): void {
    if (this.asked) {
      const next = this.queued as A;
      this.asked = false;
      this.queued = undefined;
      if (this.more()) return this.step(next);
    }
    this.busy = false;
    const wake = this.wake;
    this.idle = this.wake = null;
    wake?.();
  }
}
