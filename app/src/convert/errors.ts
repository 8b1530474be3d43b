/**
 * Conversion failure with a PHI-free message (positions and fixed reasons only) and the HL7 table 0357
 * code an ingest endpoint puts in the ACK's ERR segment.
 */
export class ConversionError extends Error {
  /** HL7 table 0357 code, e.g. "101" required field missing, "102" data type error. */
  readonly hl7ErrorCode: string;
  /** MSA-1 the ingest endpoint should answer with: AE (fix the data) or AR (message not acceptable here). */
  readonly ackCode: "AE" | "AR";
  readonly segment?: string;
  readonly field?: number;

  constructor(reason: string, opts: { code: string; segment?: string; field?: number; ackCode?: "AE" | "AR" }) {
    super(opts.segment !== undefined ? `${opts.segment}${opts.field ? `-${opts.field}` : ""}: ${reason}` : reason);
    this.name = "ConversionError";
    this.hl7ErrorCode = opts.code;
    this.ackCode = opts.ackCode ?? "AE";
    this.segment = opts.segment;
    this.field = opts.field;
  }
}

/** The message type, trigger event or version is not one this converter handles (ACK with AR). */
export class UnsupportedMessageError extends ConversionError {
  constructor(reason: string, opts: { code: "200" | "201" | "202" | "203"; field?: number }) {
    super(reason, { code: opts.code, segment: "MSH", field: opts.field ?? 9, ackCode: "AR" });
    this.name = "UnsupportedMessageError";
  }
}
