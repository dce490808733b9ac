// The panel's server side, in-process: the history ring, the embedded assets (gzip, ETag, CSP, same origin only),
// the snapshot of a role's GET paths, the live SSE feed and its cap, and the chain routes the page reads
// (/api/chain/blocks, /api/wallet).
import { afterEach, describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import type { Hono } from "hono";
import { chainRoutes, createApp, History, MAX_LIVE_CLIENTS_FOR_TEST, Panel, PANEL_ASSETS } from "./panel-imports";
import { MetricsRegistry } from "../../src/core";
import { blockHash, encodeAddress, generateKeyPair, syncMemo, type Chain } from "../../src/chain";
import { leToDisplayHex } from "../../src/core";
import { mineOn, openChain, solve } from "../chain/helpers";
