import type { Hl7Delimiters } from "./types";
import { Level, SegmentLayout, UNSPLIT } from "./layout";
import { Hl7Node } from "./node";

export class Hl7Segment {
  private lay: SegmentLayout | undefined;
  private readonly isMsh: boolean;
  /** Field nodes and lists of non-empty repetitions, made on first request. */
  private fieldNodes: (Hl7Node | undefined)[] | undefined;
  private repLists: (readonly Hl7Node[] | undefined)[] | undefined;

  constructor(
    /** Segment id, e.g. "PID". */
    readonly name: string,
    /** Whole segment line as received (no terminator). */
    readonly raw: string,
    /** 1-based position of the segment in the message. */
    readonly ordinal: number,
    private readonly d: Hl7Delimiters,
    /** The whole message text this segment was cut from, and the segment's offset in it. */
    private readonly whole?: string,
    private readonly offset = 0,
  ) {
    this.isMsh = name === "MSH";
  }

  /** The segment's value positions, from one scan on first use (kept tiny so that every accessor inlines it). */
  private get layout(): SegmentLayout {
    return this.lay ?? this.scan();
  }

  private scan(): SegmentLayout {
    const fs = this.raw.indexOf(this.d.field);
    if (this.isMsh) {
      // MSH-1 is the separator at offset 3 and MSH-2 runs to the next one; MSH-3 onwards are scanned.
      const second = fs < 0 ? -1 : this.raw.indexOf(this.d.field, fs + 1);
      this.lay = new SegmentLayout(this.raw, this.d, second, fs < 0 ? 2 : 3, this.whole, this.offset);
    } else {
      this.lay = new SegmentLayout(this.raw, this.d, fs, 1, this.whole, this.offset);
    }
    return this.lay;
  }

  /** Highest field number present. */
  get fieldCount(): number {
    return this.layout.fieldCount;
  }

  /** Raw text of field `n` (1-based); "" when absent. MSH-1 is the field separator, MSH-2 the encoding characters. */
  fieldRaw(n: number): string {
    if (this.isMsh && n <= 2) return n === 1 ? this.d.field : n === 2 ? this.encodingField() : "";
    const lay = this.layout;
    if (!(n >= 1 && n <= lay.fieldCount)) return "";
    return lay.nodeText(Level.Field, n);
  }

  /** MSH-2 as written: the text between the first and second field separators. */
  private encodingField(): string {
    const fs = this.raw.indexOf(this.d.field);
    if (fs < 0) return "";
    const second = this.raw.indexOf(this.d.field, fs + 1);
    return second < 0 ? this.raw.slice(fs + 1) : this.raw.slice(fs + 1, second);
  }

  /** Field `n` as a node (repetitions are its children); undefined when the field is absent or empty. */
  field(n: number): Hl7Node | undefined {
    this.fieldNodes ??= [];
    let node = this.fieldNodes[n];
    if (node === undefined) {
      if (this.isMsh && n <= 2) {
        const raw = this.fieldRaw(n);
        if (raw.length === 0) return undefined;
        node = new Hl7Node(this.layout, Level.Literal, -1, raw);
      } else {
        const lay = this.layout;
        if (!(n >= 1 && n <= lay.fieldCount)) return undefined;
        if (lay.nodeEmpty(Level.Field, n)) return undefined;
        node = new Hl7Node(lay, Level.Field, n);
      }
      this.fieldNodes[n] = node;
    }
    return node;
  }

  /** Non-empty repetitions of field `n`. */
  repetitions(n: number): readonly Hl7Node[] {
    this.repLists ??= [];
    let list = this.repLists[n];
    if (list === undefined) {
      const f = this.field(n);
      if (f === undefined) list = [];
      else if (this.isMsh && n <= 2) {
        // MSH-1 is one repetition holding the separator; MSH-2 lists the repetition separator, so it has none.
        list = n === 1 ? [new Hl7Node(new SegmentLayout(`\u0000${f.raw}`, UNSPLIT, 0, 1), Level.Repetition, 0)] : [];
      } else list = f.children.filter((r) => !r.isEmpty);
      this.repLists[n] = list;
    }
    return list;
  }

  /** Number of repetitions of field `n` (empty ones included); 0 when the field is absent. */
  repetitionCount(n: number): number {
    if (this.isMsh && n <= 2) return this.fieldRaw(n).length > 0 ? 1 : 0;
    const lay = this.layout;
    return n >= 1 && n <= lay.fieldCount ? lay.repStart(n + 1) - lay.repStart(n) : 0;
  }

  /** Number of components of repetition `r` of field `n`; 0 when absent. */
  componentCount(n: number, r = 1): number {
    if (this.isMsh && n <= 2) return this.repetitionCount(n) > 0 && r === 1 ? 1 : 0;
    return this.layout.countBelow(n, r, 0);
  }

  /** Number of subcomponents of component `c` of repetition `r` of field `n`; 0 when absent. */
  subcomponentCount(n: number, r = 1, c = 1): number {
    if (this.isMsh && n <= 2) return this.componentCount(n, r) > 0 && c === 1 ? 1 : 0;
    return c < 1 ? 0 : this.layout.countBelow(n, r, c);
  }

  /**
   * Calls `visit` with every subcomponent value, unescaped, and its 1-based position, in message order (empty
   * values included; MSH-1 and MSH-2, the delimiters, are not values). The fastest way to read a whole segment.
   */
  forEachValue(visit: (value: string, field: number, rep: number, comp: number, sub: number) => void): void {
    const lay = this.layout;
    for (let f = 1; f <= lay.fieldCount; f++) {
      const r0 = lay.repStart(f);
      for (let ri = r0; ri < lay.repStart(f + 1); ri++) {
        const c0 = lay.compStart(ri);
        for (let ci = c0; ci < lay.compStart(ri + 1); ci++) {
          const s0 = lay.subStart(ci);
          for (let k = s0; k < lay.subStart(ci + 1); k++) {
            visit(lay.unescape(lay.leaf(k)), f, ri - r0 + 1, ci - c0 + 1, k - s0 + 1);
          }
        }
      }
    }
  }

  /**
   * Unescaped value at field `f`, repetition `r` (1-based, default 1), component `c`, subcomponent `s`;
   * undefined when empty. Without `c` the whole repetition is returned (lower delimiters kept).
   */
  get(f: number, r = 1, c = 0, s = 0): string | undefined {
    if (this.isMsh && f <= 2) return this.delimiterField(f, r, c, s);
    const lay = this.layout;
    if (c > 0) return lay.leafValue(f, r < 1 ? 1 : r, c, s < 0 ? 0 : s);
    const ri = lay.rep(f, r < 1 ? 1 : r);
    if (ri < 0) return undefined;
    let raw = lay.span(lay.subStart(lay.compStart(ri)), lay.subStart(lay.compStart(ri + 1)));
    // A subcomponent without a component splits the whole repetition on the subcomponent separator.
    if (s > 0) raw = nth(raw, this.d.subcomponent, s);
    return raw.length === 0 ? undefined : lay.unescape(raw);
  }

  /** `get` on MSH-1 or MSH-2, which are read whole. */
  private delimiterField(f: number, r: number, c: number, s: number): string | undefined {
    const raw = this.fieldRaw(f);
    return raw.length > 0 && r === 1 && c <= 1 && s <= 1 ? raw : undefined;
  }
}

// Scratch tables for SegmentLayout (parsing is synchronous, so one set is enough). Plain arrays of small integers

/** n-th (1-based) piece of `s` split on `sep`, without allocating the other pieces. */
function nth(s: string, sep: string, n: number): string {
  let start = 0;
  for (let k = 1; k < n; k++) {
    const p = s.indexOf(sep, start);
    if (p < 0) return "";
    start = p + 1;
  }
  const end = s.indexOf(sep, start);
  return end < 0 ? (start === 0 ? s : s.slice(start)) : s.slice(start, end);
}

