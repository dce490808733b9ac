export { P2PNode, type P2POptions, type PeerInfo } from "./node";
export { Dials, type DialView, type DialsOptions } from "./dials";
export { P2PBans, type BansOptions, type MessageWindow, type Refusal } from "./bans";
export { frame, FrameDecoder, FrameWriter } from "../stratum";
export { parseMessage, messageValue, PROTOCOL_VERSION, type Message } from "./messages";
