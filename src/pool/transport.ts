import type { Socket, TCPSocketListener } from "bun";
import { listenError, RignodeError, type Logger } from "../core";
import { encodeStratum, FrameWriter, MAX_POOL_MESSAGE_BYTES, stratumDecoder, type StratumCodec } from "../stratum";
import type { Link, PoolConn, PoolServer } from "./server";
import { wrongProtocol } from "./sniff";

interface ConnState {
  /** The peer's address, read once at open (null: reset before it was accepted). */
  ip: string | null;
  conn: PoolConn | null;
  decoder: { push(chunk: Uint8Array): unknown[] };
  writer: FrameWriter;
  /** Set once the first chunk was checked for the other protocol (see sniff.ts). */
  sniffed?: boolean;
  /** TLS: the refusal to say once the handshake is done (bytes written before it are lost). */
  refusal?: Uint8Array;
}

/** A refused TLS connection whose handshake never completes is closed after this (it holds no slot, no session). */
const TLS_REFUSAL_WAIT_MS = 10_000;

/** Most bytes queued for a miner that does not read before it is dropped: room for two of the largest notifies. */
const MAX_BACKLOG = 2 * MAX_POOL_MESSAGE_BYTES;

/** A PEM certificate (chain) and its private key, for Stratum over TLS. */
export interface StratumTls {
  cert: string;
  key: string;
}

/**
 * The address a connection came from, read once at open and used for its whole life; null when the socket was reset
 * before it was accepted (a reset storm): the kernel no longer knows the peer and Bun gives undefined.
 */
export function peerIp(remoteAddress: string | undefined): string | null {
  return remoteAddress ? remoteAddress.replace(/^::ffff:/, "") : null;
}

/**
 * A TCP listener that hands each connection to the pool's session machine through one codec. `maxBytes` caps what a
 * miner sends; what the pool sends is capped by `maxSendBytes` (default MAX_POOL_MESSAGE_BYTES, what workers accept).
 * With `tls` the listener speaks TLS (stratum+ssl://), the same session inside.
 */
export function listenStratum(
  server: PoolServer,
  o: { host: string; port: number; codec: StratumCodec; maxBytes: number; maxSendBytes?: number; log: Logger; otherPort?: () => number | null; tls?: StratumTls; reusePort?: boolean },
): { port: number; stop(): void } {
  const { codec, maxBytes, log } = o;
  const tls = o.tls !== undefined;
  const maxSend = o.maxSendBytes ?? MAX_POOL_MESSAGE_BYTES;
  let listener: TCPSocketListener<ConnState>;
  try {
    listener = Bun.listen<ConnState>({
      hostname: o.host,
      port: o.port,
      // Stratum shards: one listener per shard on the same port, the kernel spreads the connections (SO_REUSEPORT).
      ...(o.reusePort ? { reusePort: true } : {}),
      ...(o.tls ? { tls: { cert: o.tls.cert, key: o.tls.key } } : {}),
      socket: {
        open(socket: Socket<ConnState>) {
          const found = peerIp(socket.remoteAddress);
          if (found === null) {
            // Already gone: nothing to serve, no IP to count it against or to log (never a shared "undefined" slot).
            socket.data = { ip: null, conn: null, decoder: { push: () => [] }, writer: new FrameWriter(socket, 0) };
            log.debug("stratum.reset_before_open", {});
            socket.terminate();
            return;
          }
          const ip = found;
          const writer = new FrameWriter(socket, MAX_BACKLOG);
          let pending: Uint8Array[] | null = null;
          const flush = () => {
            const p = pending;
            pending = null;
            if (!p || state.conn?.closed) return;
            let bytes = p[0]!;
            if (p.length > 1) {
              bytes = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
              let at = 0;
              for (const x of p) (bytes.set(x, at), (at += x.length));
            }
            if (!writer.send(bytes)) link.close("not reading (backlog full)");
          };
          const link: Link = {
            ip,
            codec,
            encode: (m) => encodeStratum(codec, m, maxSend),
            // Writes made in one pass of the event loop (the acknowledgements of one ledger commit) leave in one
            // send: a loopback send costs about 10 us of kernel time here, more than checking a share.
            write: (b) => {
              if (pending === null) {
                pending = [b];
                queueMicrotask(flush);
              } else pending.push(b);
            },
            flush,
            // The broadcast's path: it sends to open connections only, so no state is read here but the writer's.
            send: (b) => {
              if (pending !== null) return void (pending.push(b), flush());
              if (!writer.send(b)) link.close("not reading (backlog full)");
            },
            close: (reason) => {
              log.debug("stratum.close", { ip, reason });
              socket.end();
              if (state.conn) server.closed(state.conn);
            },
          };
          const state: ConnState = { ip, conn: null, decoder: stratumDecoder(codec, maxBytes), writer };
          socket.data = state;
          const c = server.open(link);
          if (typeof c === "string") {
            log.info("stratum.refused", { ip, reason: c });
            // Told, not just dropped: a miner that shows pool messages says why it cannot connect.
            const told = encodeStratum(codec, { id: null, method: "client.show_message", params: [c] }, maxSend);
            if (!tls) return void socket.end(told);
            state.refusal = told;
            setTimeout(() => state.refusal && socket.end(), TLS_REFUSAL_WAIT_MS).unref();
            return;
          }
          state.conn = c;
        },
        data(socket: Socket<ConnState>, chunk: Buffer) {
          const st = socket.data;
          const c = st?.conn;
          if (!c || c.closed) return;
          if (!st.sniffed) {
            st.sniffed = true;
            const host = socket.localAddress.replace(/^::ffff:/, "");
            const wrong = wrongProtocol(codec, chunk, { host, port: socket.localPort, otherPort: o.otherPort?.() ?? null });
            if (wrong) {
              log.info("stratum.wrong_protocol", { ip: c.link.ip, detected: wrong.detected, what: wrong.what });
              if (wrong.reply.length) socket.write(wrong.reply);
              return c.link.close(wrong.what);
            }
          }
          let msgs: unknown[];
          try {
            msgs = st.decoder.push(chunk);
          } catch (e) {
            // A malformed or oversized message: say why in the log and close; nothing else is lost.
            log.info("stratum.bad_message", { ip: c.link.ip, error: (e as RignodeError).message });
            c.link.close((e as Error).message);
            server.protocolAbuse(c.link.ip, (e as Error).message);
            return;
          }
          const now = server.now(); // the pool's clock, the one its sweep and rate limits read
          for (const m of msgs) {
            if (c.closed) return;
            c.handle(m, now).catch((e) => log.error("stratum.handler_error", { ip: c.link.ip, error: e as Error }));
          }
        },
        // TLS only: a client that does not speak TLS (plain Stratum on the TLS port) fails here and is closed.
        handshake(socket: Socket<ConnState>, success: boolean, err: Error | null) {
          const refusal = socket.data?.refusal;
          if (refusal) socket.data.refusal = undefined;
          if (success) return void (refusal && socket.end(refusal));
          log.info("stratum.tls_failed", { ip: socket.data?.ip ?? null, error: err?.message ?? "handshake failed" });
          socket.end();
        },
        drain(socket: Socket<ConnState>) {
          socket.data?.writer.drain();
        },
        close(socket: Socket<ConnState>) {
          if (socket.data?.conn) server.closed(socket.data.conn);
        },
        error(socket: Socket<ConnState>) {
          if (socket.data?.conn) server.closed(socket.data.conn);
        },
      },
    });
  } catch (cause) {
    const what = tls ? "Stratum V1 over TLS" : codec === "json" ? "Stratum V1 (JSON)" : "Stratum (native)";
    throw listenError(what, tls ? "stratum-tls" : codec === "json" ? "stratum-json" : "stratum", o.host, o.port, cause);
  }
  log.info("stratum.listening", { codec, tls, address: `${o.host}:${listener.port}` });
  return {
    port: listener.port,
    stop: () => listener.stop(true),
  };
}
