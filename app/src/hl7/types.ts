/** The delimiters a message declares in MSH-1 and MSH-2. */
export interface Hl7Delimiters {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subcomponent: string;
  /** v2.7+ truncation character (5th MSH-2 character), when declared. */
  readonly truncation?: string;
}

/** The delimiters HL7 recommends, used for ACKs to input that could not be parsed. */
export const DEFAULT_DELIMITERS: Hl7Delimiters = Object.freeze({
  field: "|",
  component: "^",
  repetition: "~",
  escape: "\\",
  subcomponent: "&",
});

/** MSH-2 text for a delimiter set (component, repetition, escape, subcomponent[, truncation]). */
export function encodingCharacters(d: Hl7Delimiters): string {
  return d.component + d.repetition + d.escape + d.subcomponent + (d.truncation ?? "");
}
