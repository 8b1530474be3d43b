/**
 * Raised for input that is not a well-formed HL7 v2 message.
 *
 * The message only names positions (segment id or ordinal, field number) and fixed reasons, never field
 * values, so it is safe to log and to place in an ACK ERR segment.
 */
export class Hl7ParseError extends Error {
  /** Segment id (e.g. "MSH") or, when the id itself is unusable, "segment <n>" (1-based line ordinal). */
  readonly segment: string;
  /** 1-based field number; 0 when the problem concerns the segment as a whole. */
  readonly field: number;
  /** HL7 table 0357 code that best describes the problem (100, 101 or 102). */
  readonly hl7ErrorCode: string;

  constructor(segment: string, field: number, reason: string, hl7ErrorCode = "102") {
    super(`${field > 0 ? `${segment}-${field}` : segment}: ${reason}`);
    this.name = "Hl7ParseError";
    this.segment = segment;
    this.field = field;
    this.hl7ErrorCode = hl7ErrorCode;
  }
}
