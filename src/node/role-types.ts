/** What every composition root returns and takes (node, pool, upstream pool, worker). */
export interface RunningRole {
  apiPort: number;
  p2pPort: number | null;
  stratumPorts?: { stratum: number | null; stratumJson: number | null; stratumTls: number | null };
  /** Settles when the role cannot go on by itself (e.g. a worker whose user every pool refuses): the process ends with 1. */
  failed?: Promise<Error>;
  stop(): Promise<void>;
}

export interface RoleOptions {
  /** The API address was given (flag, environment, file): a busy port fails; otherwise the next free one is taken. */
  apiExplicit?: boolean;
}
