import { unescapeHl7 } from "./escape";
import type { Hl7Delimiters } from "./types";

/**
 * The segment layout of the zero-dependency HL7 v2 parser (parser.ts).
 *
 * `parseHl7` splits the text into segments. The first access to a segment's fields scans that segment once,
 * left to right, and records where every field, repetition, component and subcomponent starts and ends in
 * integer tables (`SegmentLayout`). Every accessor afterwards is index arithmetic plus one `slice`
 * of the value read: nothing is split twice, and no object is created per value. Values are unescaped when
 * read, and only in segments that contain the escape character at all, so a plain value costs nothing extra.
 * Every node keeps its raw (still escaped) text, which FHIR-Converter-compatible id seeds need.
 */

/** Level of a node: a field holds repetitions, a repetition components, a component subcomponents. */
export const enum Level {
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
export class SegmentLayout {
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
      // charCodeAt on the flat message is much faster than on the sliced string a split leaves for the line.
      const src = whole ?? text;
      const off = whole !== undefined ? base : 0;
      for (let i = first + 1; i < len; i++) {
        const ch = src.charCodeAt(off + i);
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

  /** Number of components of repetition `r` of field `f`, or of subcomponents of its component `c` (c > 0). */
  countBelow(f: number, r: number, c: number): number {
    if (!(f >= 1 && f <= this.fieldCount) || r < 1) return 0;
    const tr = this.tr;
    const ri = tr[f] + r - 1;
    if (ri >= tr[f + 1]) return 0;
    const tc = this.tc;
    if (c <= 0) return tc[ri + 1] - tc[ri];
    const ci = tc[ri] + c - 1;
    if (ci >= tc[ri + 1]) return 0;
    return this.ts[ci + 1] - this.ts[ci];
  }

  /**
   * Unescaped value of field `f`, repetition `r`, component `c` (1-based) and subcomponent `s` (1-based, or 0
   * for the whole component), or undefined when absent or empty: `Hl7Segment.get`'s common cases, in one
   * function so that they stay cheap.
   */
  leafValue(f: number, r: number, c: number, s: number): string | undefined {
    if (!(f >= 1 && f <= this.fieldCount)) return undefined;
    const tr = this.tr;
    const ri = tr[f] + r - 1;
    if (ri >= tr[f + 1]) return undefined;
    const tc = this.tc;
    const ci = tc[ri] + c - 1;
    if (ci >= tc[ri + 1]) return undefined;
    const ts = this.ts;
    let k = ts[ci];
    let end = ts[ci + 1];
    if (s > 0) {
      // One subcomponent; s = 0 reads the whole component (its subcomponents and their separators).
      k += s - 1;
      if (k >= end) return undefined;
      end = k + 1;
    }
    const from = this.tb[k] + 1;
    const to = this.tb[end];
    if (to <= from) return undefined;
    const raw = this.text.slice(from, to);
    return this.hasEscape && raw.indexOf(this.d.escape) >= 0 ? unescapeHl7(raw, this.d) : raw;
  }

  /** Raw text of subcomponent `s` (1-based) of component index `ci`; "" when absent. */
  sub(ci: number, s: number): string {
    const k = this.subStart(ci) + s - 1;
    return s >= 1 && k < this.subStart(ci + 1) ? this.leaf(k) : "";
  }
}


// Scratch tables for SegmentLayout (parsing is synchronous, so one set is enough): plain arrays of small integers
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
  // Every segment of a message shares its delimiter object: remember the last one without building a key.
  if (d === lastDelimiters && lastClasses !== undefined) return lastClasses;
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
  lastDelimiters = d;
  lastClasses = t;
  return t;
}
let lastDelimiters: Hl7Delimiters | undefined;
let lastClasses: Uint8Array | undefined;

function wideClass(ch: number, d: Hl7Delimiters): number {
  if (ch === d.field.charCodeAt(0)) return FIELD_CODE;
  if (ch === d.component.charCodeAt(0)) return COMP_CODE;
  if (ch === d.repetition.charCodeAt(0)) return REP_CODE;
  return ch === d.subcomponent.charCodeAt(0) ? SUB_CODE : 0;
}

/** Delimiters that never occur in parsed text (C0 controls are rejected as binary data), for values kept whole. */
export const UNSPLIT: Hl7Delimiters = { field: "\u0001", component: "\u0002", repetition: "\u0003", escape: "\u0004", subcomponent: "\u0005" };
