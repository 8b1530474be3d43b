export { Hl7ParseError } from "./errors";
export { escapeHl7, unescapeHl7 } from "./escape";
export { Hl7Message, Hl7Node, Hl7Segment, parseHl7, reencodeHl7 } from "./parser";
export { buildAck, hl7Timestamp, type AckCode, type AckError, type AckOptions } from "./ack";
export { DEFAULT_DELIMITERS, encodingCharacters, type Hl7Delimiters } from "./types";
