import { Level, type SegmentLayout } from "./layout";

/** One field, repetition, component or subcomponent. Indexes of `child` are 1-based. */
export class Hl7Node {
  private text: string | undefined;
  private kids: Hl7Node[] | undefined;

  /** @internal Nodes are made by Hl7Segment; `index` is the node's position in its layout's table for `level`. */
  constructor(
    private readonly lay: SegmentLayout,
    private readonly level: Level,
    private readonly index: number,
    literal?: string,
  ) {
    this.text = literal;
  }

  /** Text as it appears in the message, escape sequences and lower-level delimiters included. */
  get raw(): string {
    if (this.text === undefined) {
      this.text = this.lay.nodeText(this.level, this.index);
    }
    return this.text;
  }

  /** Unescaped text. Lower-level delimiters stay in place (FHIR-Converter's `.Value`). */
  get value(): string {
    return this.level === Level.Literal ? this.raw : this.lay.unescape(this.raw);
  }

  get isEmpty(): boolean {
    if (this.text !== undefined) return this.text.length === 0;
    return this.lay.nodeEmpty(this.level, this.index);
  }

  /** Repetitions of a field, components of a repetition, subcomponents of a component. */
  get children(): readonly Hl7Node[] {
    if (this.kids === undefined) {
      const lay = this.lay;
      let from = 0;
      let to = 0;
      switch (this.level) {
        case Level.Field: from = lay.repStart(this.index); to = lay.repStart(this.index + 1); break;
        case Level.Repetition: from = lay.compStart(this.index); to = lay.compStart(this.index + 1); break;
        case Level.Component: from = lay.subStart(this.index); to = lay.subStart(this.index + 1); break;
        default: break;
      }
      const next = (this.level + 1) as Level;
      const kids: Hl7Node[] = [];
      for (let i = from; i < to; i++) kids.push(new Hl7Node(lay, next, i));
      this.kids = kids;
    }
    return this.kids;
  }

  /** 1-based child, or undefined when absent. */
  child(index: number): Hl7Node | undefined {
    return this.children[index - 1];
  }

  /**
   * Unescaped value of component `c` (and subcomponent `s`) of this repetition, or undefined when empty.
   * On a field node this reads its first repetition.
   */
  get(c: number, s?: number): string | undefined {
    const raw = this.getRaw(c, s);
    return raw.length === 0 ? undefined : this.level === Level.Literal ? raw : this.lay.unescape(raw);
  }

  /** Raw text of component `c` (and subcomponent `s`); "" when absent. */
  getRaw(c: number, s?: number): string {
    const lay = this.lay;
    let ci: number;
    switch (this.level) {
      case Level.Field:
        // First repetition; a component number below 1 reads the first component.
        ci = lay.comp(lay.repStart(this.index), c < 1 ? 1 : c);
        break;
      case Level.Repetition:
        ci = lay.comp(this.index, c);
        break;
      case Level.Component:
        return lay.sub(this.index, c < 1 ? 1 : c);
      default:
        return c === 1 ? this.raw : "";
    }
    if (ci < 0) return "";
    if (s !== undefined && s > 0) return lay.sub(ci, s);
    return lay.span(lay.subStart(ci), lay.subStart(ci + 1));
  }
}

