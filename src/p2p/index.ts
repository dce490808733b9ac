export { P2PNode, type P2POptions, type PeerInfo } from "./node";
export { frame, FrameDecoder, FrameWriter } from "../stratum";
export { parseMessage, messageValue, PROTOCOL_VERSION, type Message } from "./messages";
