import type { Socket, TCPSocketListener } from "bun";
import { listenError, RignodeError, type Logger } from "../core";
import { encodeStratum, FrameWriter, MAX_POOL_MESSAGE_BYTES, stratumDecoder, type StratumCodec } from "../stratum";
import type { Link, PoolConn, PoolServer } from "./server";
import { wrongProtocol } from "./sniff";

interface ConnState {
  conn: PoolConn | null;
  decoder: { push(chunk: Uint8Array): unknown[] };
  writer: FrameWriter;
  /** Set once the first chunk was checked for the other protocol (see sniff.ts). */
  sniffed?: boolean;
}

/** Most bytes queued for a miner that does not read before it is dropped: room for two of the largest notifies. */
const MAX_BACKLOG = 2 * MAX_POOL_MESSAGE_BYTES;

/**
 * A TCP listener that hands each connection to the pool's session machine through one codec. `maxBytes` caps what a
 * miner sends; what the pool sends is capped by `maxSendBytes` (default MAX_POOL_MESSAGE_BYTES, what workers accept).
 */
export function listenStratum(server: PoolServer, o: { host: string; port: number; codec: StratumCodec; maxBytes: number; maxSendBytes?: number; log: Logger; otherPort?: () => number | null }): { port: number; stop(): void } {
  const { codec, maxBytes, log } = o;
  const maxSend = o.maxSendBytes ?? MAX_POOL_MESSAGE_BYTES;
  let listener: TCPSocketListener<ConnState>;
  try {
    listener = Bun.listen<ConnState>({
      hostname: o.host,
      port: o.port,
      socket: {
        open(socket: Socket<ConnState>) {
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
            ip: socket.remoteAddress.replace(/^::ffff:/, ""),
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
            close: (reason) => {
              log.debug("stratum.close", { ip: socket.remoteAddress, reason });
              socket.end();
              if (state.conn) server.closed(state.conn);
            },
          };
          const state: ConnState = { conn: null, decoder: stratumDecoder(codec, maxBytes), writer };
          socket.data = state;
          const c = server.open(link);
          if (typeof c === "string") {
            log.info("stratum.refused", { ip: socket.remoteAddress, reason: c });
            // Told, not just dropped: a miner that shows pool messages says why it cannot connect.
            socket.end(encodeStratum(codec, { id: null, method: "client.show_message", params: [c] }, maxSend));
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
          const now = Date.now();
          for (const m of msgs) {
            if (c.closed) return;
            c.handle(m, now).catch((e) => log.error("stratum.handler_error", { ip: c.link.ip, error: e as Error }));
          }
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
    throw listenError(codec === "json" ? "Stratum V1 (JSON)" : "Stratum (native)", codec === "json" ? "stratum-json" : "stratum", o.host, o.port, cause);
  }
  log.info("stratum.listening", { codec, address: `${o.host}:${listener.port}` });
  return {
    port: listener.port,
    stop: () => listener.stop(true),
  };
}
