import { Hl7ParseError } from "./errors";
import { escapeHl7, unescapeHl7 } from "./escape";
import { encodingCharacters, type Hl7Delimiters } from "./types";

/**
 * Zero-dependency HL7 v2 parser.
 *
 * `parseHl7` splits the text into segments. The first access to a segment's fields scans that segment once,
 * left to right, and records where every field, repetition, component and subcomponent starts and ends in
 * one flat integer table (`SegmentLayout`). Every accessor afterwards is index arithmetic plus one `slice`
 * of the value read: nothing is split twice, and no object is created per value. Values are unescaped when
 * read, and only in segments that contain the escape character at all, so a plain value costs nothing extra.
 * Every node keeps its raw (still escaped) text, which FHIR-Converter-compatible id seeds need.
 */

/** Level of a node: a field holds repetitions, a repetition components, a component subcomponents. */
const enum Level {
  Field = 0,
  Repetition = 1,
  Component = 2,
  Subcomponent = 3,
  /** MSH-1 and MSH-2: the delimiters themselves, never split or unescaped. */
  Literal = 4,
}

/**
 * Positions of one segment's values, filled by a single scan (compressed-sparse-row style):
 * field `f` owns repetitions `repStart(f) .. repStart(f+1)-1`, repetition `r` owns components
 * `compStart(r) .. compStart(r+1)-1`, component `c` owns leaves `subStart(c) .. subStart(c+1)-1`, and leaf `k`
 * is `text.slice(bound(k) + 1, bound(k + 1))` (`bound(k)` is the delimiter before it). Each table ends with a
 * sentinel, so the text of any node is one slice between two bounds.
 */
class SegmentLayout {
  /** bound, subStart, compStart and repStart tables. */
  private readonly tb: number[];
  private readonly ts: number[];
  private readonly tc: number[];
  private readonly tr: number[];
  /** Whether the escape character occurs in the scanned fields; when not, values are returned as sliced. */
  readonly hasEscape: boolean;
  /** Highest field number present. */
  readonly fieldCount: number;

  constructor(
    readonly text: string,
    readonly d: Hl7Delimiters,
    /** Offset of the field separator before the first scanned field, or -1 when there is none. */
    first: number,
    /** Number of that field (1, or 3 in MSH whose fields 1 and 2 are the delimiters). */
    firstField: number,
    /** The whole message text (flat, unlike a line cut from it), when available, and this segment's offset in it. */
    whole?: string,
    base = 0,
  ) {
    // The scan writes into shared scratch tables (parsing is synchronous), then copies each to its final size.
    const reps = SCRATCH_REPS;
    const comps = SCRATCH_COMPS;
    const subs = SCRATCH_SUBS;
    const bound = SCRATCH_BOUND;
    let nr = 0;
    for (let f = 0; f <= firstField; f++) reps[nr++] = 0;
    let nc = 1;
    let ns = 1;
    let nb = 1;
    comps[0] = 0;
    subs[0] = 0;
    bound[0] = first;
    if (first < 0) {
      // No data fields: fields up to firstField-1 are empty; the last entry is the sentinel.
      nr = firstField + 1;
    } else {
      // One table load classifies a character (0: text, else which delimiter), instead of four comparisons.
      const cls = delimiterClasses(d);
      // Non-ASCII delimiters are allowed (rare): only then do characters above 127 need a look.
      const wide = cls[0] === 1;
      const len = text.length;
      for (let i = first + 1; i < len; i++) {
        // charCodeAt on the flat message is much faster than on the sliced string a split leaves for the line.
        const ch = whole !== undefined ? whole.charCodeAt(base + i) : text.charCodeAt(i);
        const k = ch < 128 ? cls[ch] : wide ? wideClass(ch, d) : 0;
        if (k === 0) continue;
        bound[nb++] = i;
        if (k === SUB_CODE) continue;
        subs[ns++] = nb - 1;
        if (k === COMP_CODE) continue;
        comps[nc++] = ns - 1;
        if (k === REP_CODE) continue;
        reps[nr++] = nc - 1;
      }
      // The end of the text closes the last field like a field separator would.
      bound[nb++] = len;
      subs[ns++] = nb - 1;
      comps[nc++] = ns - 1;
      reps[nr++] = nc - 1;
    }
    if (nb > SCRATCH_KEEP) {
      // A pathological segment (hundreds of thousands of delimiters) must not pin that much scratch memory.
      queueScratchRelease();
    }
    // Array#slice copies a packed integer array natively, much faster than a JS copy loop.
    this.tb = bound.slice(0, nb);
    this.ts = subs.slice(0, ns);
    this.tc = comps.slice(0, nc);
    this.tr = reps.slice(0, nr);
    // indexOf runs natively: cheaper than testing every character in the loop above.
    this.hasEscape = first >= 0 && text.indexOf(d.escape, first) >= 0;
    this.fieldCount = nr - 2;
  }

  /** First repetition index of field `f` (one past the last of field `f - 1`). */
  repStart(f: number): number {
    return this.tr[f];
  }

  /** First component index of repetition index `r`. */
  compStart(r: number): number {
    return this.tc[r];
  }

  /** First leaf index of component index `c`. */
  subStart(c: number): number {
    return this.ts[c];
  }

  /** Offset of the delimiter before leaf `k` (for k = leaf count, the end of the last leaf). */
  bound(k: number): number {
    return this.tb[k];
  }

  /**
   * First leaf of node `index` at `level`. A node's leaves end where the next node's begin (the tables end with
   * sentinels), so node `i` spans leaves `firstLeaf(level, i) .. firstLeaf(level, i + 1) - 1`.
   */
  firstLeaf(level: Level, index: number): number {
    switch (level) {
      case Level.Field:
        return this.subStart(this.compStart(this.repStart(index)));
      case Level.Repetition:
        return this.subStart(this.compStart(index));
      case Level.Component:
        return this.subStart(index);
      default:
        return index;
    }
  }

  /** Raw text of node `index` at `level`. */
  nodeText(level: Level, index: number): string {
    return this.span(this.firstLeaf(level, index), this.firstLeaf(level, index + 1));
  }

  /** Whether node `index` at `level` is empty (no text at all). */
  nodeEmpty(level: Level, index: number): boolean {
    return this.bound(this.firstLeaf(level, index + 1)) - this.bound(this.firstLeaf(level, index)) === 1;
  }

  /** Raw text spanning leaves `from .. to-1` (with the delimiters between them). */
  span(from: number, to: number): string {
    return this.text.slice(this.bound(from) + 1, this.bound(to));
  }

  /** Raw text of leaf `k`. */
  leaf(k: number): string {
    return this.text.slice(this.bound(k) + 1, this.bound(k + 1));
  }

  /** Unescaped form of a raw value from this segment. */
  unescape(raw: string): string {
    return this.hasEscape && raw.indexOf(this.d.escape) >= 0 ? unescapeHl7(raw, this.d) : raw;
  }

  /** Index of repetition `r` (1-based) of field `f`, or -1 when absent. */
  rep(f: number, r: number): number {
    if (!(f >= 1 && f <= this.fieldCount)) return -1;
    const i = this.repStart(f) + r - 1;
    return i < this.repStart(f + 1) ? i : -1;
  }

  /** Index of component `c` (1-based) of repetition index `ri`, or -1 when absent. */
  comp(ri: number, c: number): number {
    const i = this.compStart(ri) + c - 1;
    return c >= 1 && i < this.compStart(ri + 1) ? i : -1;
  }

  /** Raw text of subcomponent `s` (1-based) of component index `ci`; "" when absent. */
  sub(ci: number, s: number): string {
    const k = this.subStart(ci) + s - 1;
    return s >= 1 && k < this.subStart(ci + 1) ? this.leaf(k) : "";
  }
}

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
    const lay = this.layout;
    const ri = lay.rep(n, r);
    return ri < 0 ? 0 : lay.compStart(ri + 1) - lay.compStart(ri);
  }

  /** Number of subcomponents of component `c` of repetition `r` of field `n`; 0 when absent. */
  subcomponentCount(n: number, r = 1, c = 1): number {
    if (this.isMsh && n <= 2) return this.componentCount(n, r) > 0 && c === 1 ? 1 : 0;
    const lay = this.layout;
    const ri = lay.rep(n, r);
    const ci = ri < 0 ? -1 : lay.comp(ri, c);
    return ci < 0 ? 0 : lay.subStart(ci + 1) - lay.subStart(ci);
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
    const ri = lay.rep(f, r < 1 ? 1 : r);
    if (ri < 0) return undefined;
    let raw: string;
    if (c > 0) {
      const ci = lay.comp(ri, c);
      if (ci < 0) return undefined;
      raw = s > 0 ? lay.sub(ci, s) : lay.span(lay.subStart(ci), lay.subStart(ci + 1));
    } else {
      raw = lay.span(lay.subStart(lay.compStart(ri)), lay.subStart(lay.compStart(ri + 1)));
      // A subcomponent without a component splits the whole repetition on the subcomponent separator.
      if (s > 0) raw = nth(raw, this.d.subcomponent, s);
    }
    return raw.length === 0 ? undefined : lay.unescape(raw);
  }

  /** `get` on MSH-1 or MSH-2, which are read whole. */
  private delimiterField(f: number, r: number, c: number, s: number): string | undefined {
    const raw = this.fieldRaw(f);
    return raw.length > 0 && r === 1 && c <= 1 && s <= 1 ? raw : undefined;
  }
}

// Scratch tables for SegmentLayout (parsing is synchronous, so one set is enough). Plain arrays of small integers
// that grow as needed and are filled from index 0 by every scan.
const SCRATCH_REPS: number[] = [];
const SCRATCH_COMPS: number[] = [];
const SCRATCH_SUBS: number[] = [];
const SCRATCH_BOUND: number[] = [];
const SCRATCH_KEEP = 1 << 16;
let releaseQueued = false;
/** Empties the scratch tables once the current synchronous parse is over. */
function queueScratchRelease(): void {
  if (releaseQueued) return;
  releaseQueued = true;
  queueMicrotask(() => {
    releaseQueued = false;
    for (const a of [SCRATCH_REPS, SCRATCH_COMPS, SCRATCH_SUBS, SCRATCH_BOUND]) a.length = 0;
  });
}

const FIELD_CODE = 1;
const COMP_CODE = 2;
const REP_CODE = 3;
const SUB_CODE = 4;
const CLASS_TABLES = new Map<string, Uint8Array>();

/**
 * Character class table (ASCII) of a delimiter set. Entry 0 (NUL, never in parsed text) is 1 when a delimiter is
 * not ASCII, so the scan also checks characters above 127.
 */
function delimiterClasses(d: Hl7Delimiters): Uint8Array {
  const key = d.field + d.component + d.repetition + d.subcomponent;
  let t = CLASS_TABLES.get(key);
  if (t === undefined) {
    t = new Uint8Array(128);
    const set = (ch: string, k: number): void => {
      const c = ch.charCodeAt(0);
      if (c < 128) t![c] = k;
      else t![0] = 1;
    };
    set(d.field, FIELD_CODE);
    set(d.component, COMP_CODE);
    set(d.repetition, REP_CODE);
    set(d.subcomponent, SUB_CODE);
    if (CLASS_TABLES.size > 64) CLASS_TABLES.clear();
    CLASS_TABLES.set(key, t);
  }
  return t;
}

function wideClass(ch: number, d: Hl7Delimiters): number {
  if (ch === d.field.charCodeAt(0)) return FIELD_CODE;
  if (ch === d.component.charCodeAt(0)) return COMP_CODE;
  if (ch === d.repetition.charCodeAt(0)) return REP_CODE;
  return ch === d.subcomponent.charCodeAt(0) ? SUB_CODE : 0;
}

/** Delimiters that never occur in parsed text (C0 controls are rejected as binary data), for values kept whole. */
const UNSPLIT: Hl7Delimiters = { field: "\u0001", component: "\u0002", repetition: "\u0003", escape: "\u0004", subcomponent: "\u0005" };

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

interface ParsedPath {
  seg: string;
  occurrence: number;
  field: number;
  rep: number;
  comp: number;
  sub: number;
}

const PATH_RE = /^([A-Z][A-Z0-9]{2})(?:\[(\d{1,4})\])?-(\d{1,4})(?:\[(\d{1,4})\])?(?:\.(\d{1,4})(?:\.(\d{1,4}))?)?$/;
const pathCache = new Map<string, ParsedPath>();

function parsePath(path: string): ParsedPath {
  let p = pathCache.get(path);
  if (p !== undefined) return p;
  const m = PATH_RE.exec(path);
  if (m === null) throw new TypeError(`Invalid HL7 path "${path}": expected e.g. PID-3, PID-3[2].4.2 or OBX[2]-5`);
  p = {
    seg: m[1],
    occurrence: m[2] ? Number(m[2]) : 1,
    field: Number(m[3]),
    rep: m[4] ? Number(m[4]) : 1,
    comp: m[5] ? Number(m[5]) : 0,
    sub: m[6] ? Number(m[6]) : 0,
  };
  if (p.occurrence < 1 || p.field < 1 || p.rep < 1 || (m[5] && p.comp < 1) || (m[6] && p.sub < 1)) {
    throw new TypeError(`Invalid HL7 path "${path}": indexes are 1-based`);
  }
  if (pathCache.size < 1000) pathCache.set(path, p);
  return p;
}

export class Hl7Message {
  private readonly byName = new Map<string, Hl7Segment[]>();

  constructor(
    readonly segments: readonly Hl7Segment[],
    readonly delimiters: Hl7Delimiters,
  ) {
    for (const s of segments) {
      const list = this.byName.get(s.name);
      if (list === undefined) this.byName.set(s.name, [s]);
      else list.push(s);
    }
  }

  /** Normalised message text: the segments joined with CR (the HL7 segment terminator). */
  get raw(): string {
    return this.segments.map((s) => s.raw).join("\r");
  }

  /** First segment with this id. */
  segment(name: string): Hl7Segment | undefined {
    return this.byName.get(name)?.[0];
  }

  segmentsNamed(name: string): readonly Hl7Segment[] {
    return this.byName.get(name) ?? [];
  }

  /**
   * 1-based accessor: `MSH-10`, `PID-3[2].4.2` (field 3, repetition 2, component 4, subcomponent 2),
   * `OBX[2]-5` (second OBX). Returns the unescaped value or undefined when absent or empty.
   */
  get(path: string): string | undefined {
    const p = parsePath(path);
    const seg = this.byName.get(p.seg)?.[p.occurrence - 1];
    return seg === undefined ? undefined : seg.get(p.field, p.rep, p.comp, p.sub);
  }

  private get msh(): Hl7Segment {
    return this.segments[0];
  }

  /** MSH-10 message control id. */
  get controlId(): string | undefined { return this.msh.get(10); }
  /** MSH-9.1 message code, e.g. "ADT". */
  get messageType(): string | undefined { return this.msh.get(9, 1, 1); }
  /** MSH-9.2 trigger event, e.g. "A01". */
  get triggerEvent(): string | undefined { return this.msh.get(9, 1, 2); }
  /** MSH-9.3 message structure, e.g. "ADT_A01" (informative only; routing uses 9.1/9.2). */
  get messageStructure(): string | undefined { return this.msh.get(9, 1, 3); }
  /** MSH-12.1 version id, e.g. "2.5.1". */
  get version(): string | undefined { return this.msh.get(12, 1, 1); }
  /** MSH-11.1 processing id (P, T or D). */
  get processingId(): string | undefined { return this.msh.get(11, 1, 1); }
  /** MSH-7 date/time of message, as sent. */
  get timestamp(): string | undefined { return this.msh.get(7, 1, 1); }
  /** Raw MSH-3 (HD, still escaped in this message's delimiters). */
  get sendingApplicationRaw(): string { return this.msh.fieldRaw(3); }
  get sendingFacilityRaw(): string { return this.msh.fieldRaw(4); }
  get receivingApplicationRaw(): string { return this.msh.fieldRaw(5); }
  get receivingFacilityRaw(): string { return this.msh.fieldRaw(6); }
  /** MSH-3.1 / MSH-4.1 / MSH-5.1 / MSH-6.1, unescaped (system names, not PHI). */
  get sendingApplication(): string | undefined { return this.msh.get(3, 1, 1); }
  get sendingFacility(): string | undefined { return this.msh.get(4, 1, 1); }
  get receivingApplication(): string | undefined { return this.msh.get(5, 1, 1); }
  get receivingFacility(): string | undefined { return this.msh.get(6, 1, 1); }
}

// C0 controls other than TAB/CR/LF, and DEL: these never belong in an HL7 message body.
const JUNK_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const SEGMENT_ID_RE = /^[A-Z][A-Z0-9]{2}$/;

/**
 * Parses one HL7 v2 message. Accepts CR, LF or CRLF segment terminators, a UTF-8 BOM, MLLP framing
 * (0x0B … 0x1C 0x0D) and surrounding whitespace. Throws Hl7ParseError (and nothing else) on malformed input.
 */
export function parseHl7(text: string): Hl7Message {
  if (typeof text !== "string") throw new Hl7ParseError("MSH", 0, "input is not text");
  let start = 0;
  let end = text.length;
  // Leading BOM, whitespace and MLLP start block, in any order they commonly appear.
  while (start < end) {
    const c = text.charCodeAt(start);
    if (c === 0xfeff || c === 0x0b || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) start++;
    else break;
  }
  const framed = start > 0 && text.lastIndexOf("\u000b", start - 1) >= 0;
  const fs = text.indexOf("\u001c", start);
  if (fs >= 0) {
    // MLLP end block: only a CR and whitespace may follow it.
    for (let k = fs + 1; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) {
        throw new Hl7ParseError("MSH", 0, "data after the MLLP end block (one message per input)");
      }
    }
    end = fs;
  } else if (framed) {
    throw new Hl7ParseError("MSH", 0, "MLLP frame has no end block (truncated message)");
  }
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) end--;
    else break;
  }
  const body = start === 0 && end === text.length ? text : text.slice(start, end);
  if (body.length === 0) throw new Hl7ParseError("MSH", 0, "empty message");
  if (!body.startsWith("MSH")) throw new Hl7ParseError("MSH", 0, "message does not start with an MSH segment");

  const d = readDelimiters(body);
  const junk = JUNK_RE.exec(body);
  if (junk !== null) throw locate(body, junk.index, d, "contains a control character (binary data?)");

  const lines = body.indexOf("\n") >= 0 ? body.split(/\r\n|\r|\n/) : body.split("\r");
  const segments: Hl7Segment[] = [];
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineStart = offset;
    // Next line: past this one and its terminator (CR, LF or CRLF).
    offset += line.length + (body.charCodeAt(offset + line.length) === 0x0d && body.charCodeAt(offset + line.length + 1) === 0x0a ? 2 : 1);
    if (line.length === 0) continue;
    const ordinal = segments.length + 1;
    const name = line.length >= 3 ? line.slice(0, 3) : line;
    if (!SEGMENT_ID_RE.test(name) || (line.length > 3 && line[3] !== d.field)) {
      if (line.trim().length === 0) continue; // a whitespace-only line between segments
      throw new Hl7ParseError(`segment ${ordinal}`, 0, "segment id is missing, truncated or invalid");
    }
    if (name === "MSH" && ordinal > 1) {
      throw new Hl7ParseError(`segment ${ordinal}`, 0, "second MSH segment (one message per input)", "100");
    }
    segments.push(new Hl7Segment(name, line, ordinal, d, body, lineStart));
  }
  return new Hl7Message(segments, d);
}

function readDelimiters(body: string): Hl7Delimiters {
  if (body.length < 8) throw new Hl7ParseError("MSH", 2, "MSH segment is truncated before its encoding characters");
  const field = body[3];
  let encEnd = body.indexOf(field, 4);
  const eol = firstLineEnd(body);
  if (encEnd < 0 || encEnd > eol) encEnd = eol;
  const enc = body.slice(4, encEnd);
  if (!isDelimiterChar(field)) throw new Hl7ParseError("MSH", 1, "field separator must be a printable, non-alphanumeric character");
  if (enc.length < 4 || enc.length > 5) {
    throw new Hl7ParseError("MSH", 2, "encoding characters must be 4 characters (5 with the v2.7 truncation character)");
  }
  const all = field + enc;
  for (let i = 0; i < all.length; i++) {
    if (!isDelimiterChar(all[i])) throw new Hl7ParseError("MSH", 2, "encoding characters must be printable, non-alphanumeric characters");
    if (all.indexOf(all[i], i + 1) >= 0) throw new Hl7ParseError("MSH", 2, "delimiters must all be different");
  }
  return {
    field,
    component: enc[0],
    repetition: enc[1],
    escape: enc[2],
    subcomponent: enc[3],
    ...(enc.length === 5 ? { truncation: enc[4] } : {}),
  };
}

function firstLineEnd(s: string): number {
  const cr = s.indexOf("\r");
  const lf = s.indexOf("\n");
  if (cr < 0) return lf < 0 ? s.length : lf;
  return lf < 0 ? cr : Math.min(cr, lf);
}

function isDelimiterChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c <= 0x20 || c === 0x7f) return false;
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return false;
  return true;
}

/** Builds an error naming the segment and field that contain offset `pos` of `body`. */
function locate(body: string, pos: number, d: Hl7Delimiters, reason: string): Hl7ParseError {
  let lineStart = 0;
  let ordinal = 0;
  let i = 0;
  while (i <= pos) {
    const c = body.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) {
      if (c === 0x0d && body.charCodeAt(i + 1) === 0x0a) i++;
      if (i + 1 - lineStart > 1) ordinal++;
      lineStart = i + 1;
    }
    i++;
  }
  ordinal++;
  const prefix = body.slice(lineStart, pos);
  const name = prefix.slice(0, 3);
  let fieldNo = prefix.split(d.field).length - 1;
  if (name === "MSH") fieldNo++;
  const segName = SEGMENT_ID_RE.test(name) ? name : `segment ${ordinal}`;
  return new Hl7ParseError(segName, fieldNo, reason);
}

/**
 * Re-encodes a parsed message with other delimiters: every leaf is unescaped and re-escaped, so the new text
 * parses to the same values. Used by property tests and fuzzers.
 */
export function reencodeHl7(msg: Hl7Message, to: Hl7Delimiters): string {
  const from = msg.delimiters;
  const lines: string[] = [];
  for (const seg of msg.segments) {
    const fields: string[] = [seg.name];
    const isMsh = seg.name === "MSH";
    const first = isMsh ? 3 : 1;
    if (isMsh) fields.push(encodingCharacters(to));
    for (let f = first; f <= seg.fieldCount; f++) {
      const reps = seg.fieldRaw(f).split(from.repetition);
      fields.push(
        reps
          .map((r) =>
            r
              .split(from.component)
              .map((c) =>
                c
                  .split(from.subcomponent)
                  .map((s) => escapeHl7(unescapeHl7(s, from), to))
                  .join(to.subcomponent),
              )
              .join(to.component),
          )
          .join(to.repetition),
      );
    }
    lines.push(fields.join(to.field));
  }
  return lines.join("\r");
}
