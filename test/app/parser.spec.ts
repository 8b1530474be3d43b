import { strict as assert } from "node:assert";
import {
  DEFAULT_DELIMITERS,
  Hl7ParseError,
  escapeHl7,
  parseHl7,
  reencodeHl7,
  unescapeHl7,
  type Hl7Delimiters,
  type Hl7Message,
} from "../../app/src/hl7";
import { loadAdtCorpus } from "../fixtures/hl7";
import { seededRandom } from "../support/seeded-random";

/** Every unescaped leaf value of a message, as nested arrays (segment → field → repetition → component → sub). */
function dump(msg: Hl7Message): unknown {
  return msg.segments.map((seg) => {
    const fields: unknown[] = [seg.name];
    for (let f = seg.name === "MSH" ? 3 : 1; f <= seg.fieldCount; f++) {
      const node = seg.field(f);
      fields.push(node === undefined ? [] : node.children.map((r) => r.children.map((c) => c.children.map((s) => s.value))));
    }
    return fields;
  });
}


const SAMPLE = [
  "MSH|^~\\&|SENDAPP^1.2.3^ISO|SENDFAC|RECVAPP|RECVFAC|20260102030405+0100||ADT^A01^ADT_A01|CTRL-1|P|2.5.1",
  "EVN|A01|20260102030405+0100",
  "PID|1||ID-1^^^AUTH-A&1.2.840.1&ISO^MR~ID-2^^^AUTH-B&9.9.9&ISO^PI||O\\S\\NEIL\\T\\SONS^Ann\\F\\Marie^\\R\\X\\E\\Y||19800101|F",
  "PV1|1|I|4N^401^B^HOSP",
].join("\r");

function assertParseError(text: string, segment: string, field: number | undefined, pattern: RegExp): void {
  assert.throws(
    () => parseHl7(text),
    (err: unknown) => {
      assert.ok(err instanceof Hl7ParseError, `expected Hl7ParseError, got ${String(err)}`);
      assert.equal(err.segment, segment);
      if (field !== undefined) assert.equal(err.field, field);
      assert.match(err.message, pattern);
      assert.ok(err.message.includes(field ? `${segment}-${field}` : segment), `message names the position: ${err.message}`);
      return true;
    },
  );
}

describe("HL7 v2 parser", () => {
  describe("structure and accessors", () => {
    const msg = parseHl7(SAMPLE);

    it("reads delimiters from MSH-1 and MSH-2", () => {
      assert.deepEqual({ ...msg.delimiters }, { ...DEFAULT_DELIMITERS });
      assert.equal(msg.get("MSH-1"), "|");
      assert.equal(msg.get("MSH-2"), "^~\\&");
    });

    it("gives 1-based access to fields, repetitions, components and subcomponents", () => {
      assert.equal(msg.get("MSH-10"), "CTRL-1");
      assert.equal(msg.controlId, "CTRL-1");
      assert.equal(msg.messageType, "ADT");
      assert.equal(msg.triggerEvent, "A01");
      assert.equal(msg.messageStructure, "ADT_A01");
      assert.equal(msg.version, "2.5.1");
      assert.equal(msg.processingId, "P");
      assert.equal(msg.sendingApplication, "SENDAPP");
      assert.equal(msg.sendingFacilityRaw, "SENDFAC");
      assert.equal(msg.receivingApplication, "RECVAPP");
      assert.equal(msg.receivingFacility, "RECVFAC");
      assert.equal(msg.get("PID-3"), "ID-1^^^AUTH-A&1.2.840.1&ISO^MR");
      assert.equal(msg.get("PID-3[2].1"), "ID-2");
      assert.equal(msg.get("PID-3[2].4.2"), "9.9.9");
      assert.equal(msg.get("PID-3.4.1"), "AUTH-A");
      assert.equal(msg.get("PID-3[3].1"), undefined);
      assert.equal(msg.get("PID-4"), undefined);
      assert.equal(msg.get("NK1-2"), undefined);
      assert.equal(msg.get("PV1-3.2"), "401");
      assert.equal(msg.get("EVN[1]-1"), "A01");
      assert.equal(msg.get("EVN[2]-1"), undefined);
    });

    it("unescapes values but keeps the raw text of every node", () => {
      assert.equal(msg.get("PID-5.1"), "O^NEIL&SONS");
      assert.equal(msg.get("PID-5.2"), "Ann|Marie");
      assert.equal(msg.get("PID-5.3"), "~X\\Y");
      const pid = msg.segment("PID");
      assert.ok(pid);
      assert.equal(pid.raw, SAMPLE.split("\r")[2]);
      const name = pid.field(5);
      assert.ok(name);
      assert.equal(name.raw, "O\\S\\NEIL\\T\\SONS^Ann\\F\\Marie^\\R\\X\\E\\Y");
      const family = name.child(1)?.child(1);
      assert.equal(family?.raw, "O\\S\\NEIL\\T\\SONS");
      assert.equal(family?.value, "O^NEIL&SONS");
      const hd = pid.field(3)?.child(2)?.child(4);
      assert.equal(hd?.raw, "AUTH-B&9.9.9&ISO");
      assert.deepEqual(hd?.children.map((s) => s.raw), ["AUTH-B", "9.9.9", "ISO"]);
      assert.equal(pid.repetitions(3).length, 2);
    });

    it("lists segments in order and by name", () => {
      assert.deepEqual(msg.segments.map((s) => s.name), ["MSH", "EVN", "PID", "PV1"]);
      assert.equal(msg.segmentsNamed("PID").length, 1);
      assert.equal(msg.segmentsNamed("OBX").length, 0);
      assert.equal(msg.segment("PV1")?.ordinal, 4);
    });

    it("rejects malformed accessor paths with a clear error", () => {
      assert.throws(() => msg.get("PID.3"), /Invalid HL7 path "PID.3"/);
      assert.throws(() => msg.get("PID-0"), /1-based/);
    });

    it("counts repetitions, components and subcomponents, empty ones included", () => {
      const pid = msg.segment("PID");
      assert.ok(pid);
      assert.equal(pid.fieldCount, 8);
      assert.equal(pid.repetitionCount(3), 2);
      assert.equal(pid.componentCount(3, 2), 5);
      assert.equal(pid.subcomponentCount(3, 2, 4), 3);
      assert.equal(pid.get(3, 2, 4, 2), "9.9.9");
      assert.equal(pid.repetitionCount(2), 1); // an empty field still has one (empty) repetition
      assert.equal(pid.get(2), undefined);
      assert.equal(pid.repetitionCount(9), 0); // beyond the last field
      assert.equal(pid.componentCount(3, 3), 0);
      assert.equal(pid.subcomponentCount(3, 1, 9), 0);
      const msh = msg.segment("MSH");
      assert.ok(msh);
      assert.equal(msh.fieldCount, 12);
      assert.equal(msh.repetitionCount(2), 1);
      assert.equal(msh.get(3, 1, 2), "1.2.3");
    });

    it("visits every value once with its position, unescaped, in message order", () => {
      const pid = msg.segment("PID");
      assert.ok(pid);
      const seen: [string, number, number, number, number][] = [];
      pid.forEachValue((value, f, r, c, sub) => seen.push([value, f, r, c, sub]));
      assert.deepEqual(seen.slice(0, 4), [["1", 1, 1, 1, 1], ["", 2, 1, 1, 1], ["ID-1", 3, 1, 1, 1], ["", 3, 1, 2, 1]]);
      assert.ok(seen.some(([v, f, r, c, sub]) => v === "9.9.9" && f === 3 && r === 2 && c === 4 && sub === 2));
      assert.ok(seen.some(([v, f, r, c]) => v === "Ann|Marie" && f === 5 && r === 1 && c === 2));
      for (const [value, f, r, c, sub] of seen) assert.equal(pid.get(f, r, c, sub) ?? "", value);
      const mshValues: number[] = [];
      msg.segments[0].forEachValue((_v, f) => mshValues.push(f));
      assert.equal(Math.min(...mshValues), 3, "MSH-1 and MSH-2 are delimiters, not values");
    });

    it("splits a field once: repeated reads return the same nodes", () => {
      const m = parseHl7(SAMPLE);
      const pid = m.segment("PID");
      assert.ok(pid);
      assert.strictEqual(pid.repetitions(3), pid.repetitions(3));
      assert.strictEqual(pid.field(5), pid.field(5));
      assert.strictEqual(pid.field(3)?.children, pid.field(3)?.children);
      assert.strictEqual(pid.repetitions(3)[1], pid.field(3)?.child(2));
    });

    it("handles segments without fields, trailing separators and empty values", () => {
      const m = parseHl7("MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\rPID\rPV1|\rNK1|1||x^^~^y&&|");
      const [, pid, pv1, nk1] = m.segments;
      assert.equal(pid.fieldCount, 0);
      assert.equal(pid.get(1), undefined);
      assert.deepEqual(pid.repetitions(1), []);
      assert.equal(pv1.fieldCount, 1);
      assert.equal(pv1.fieldRaw(1), "");
      assert.equal(pv1.field(1), undefined);
      assert.equal(nk1.fieldCount, 4);
      assert.equal(nk1.fieldRaw(3), "x^^~^y&&");
      assert.equal(nk1.repetitionCount(3), 2);
      assert.deepEqual(nk1.repetitions(3).map((r) => r.raw), ["x^^", "^y&&"]);
      assert.equal(nk1.get(3, 2, 2, 3), undefined);
      assert.equal(nk1.subcomponentCount(3, 2, 2), 3);
      assert.equal(nk1.get(3, 2, 2, 1), "y");
      assert.equal(nk1.fieldRaw(4), "");
      const values: string[] = [];
      nk1.forEachValue((v) => values.push(v));
      assert.deepEqual(values, ["1", "", "x", "", "", "", "y", "", "", ""]);
    });

    it("reads the same values through get, the node tree and forEachValue (corpus and mutations)", () => {
      const rnd = seededRandom(7);
      const corpus = loadAdtCorpus().map((m) => m.text);
      let checked = 0;
      for (let i = 0; i < 400; i++) {
        let text = corpus[i % corpus.length];
        if (i >= corpus.length) {
          const pos = Math.floor(rnd() * text.length);
          text = text.slice(0, pos) + ["^", "~", "&", "|", "\\E\\", "\\", "\\S\\"][Math.floor(rnd() * 7)] + text.slice(pos);
        }
        let m: Hl7Message;
        try {
          m = parseHl7(text);
        } catch {
          continue;
        }
        for (const seg of m.segments) {
          const viaVisit: string[] = [];
          seg.forEachValue((v, f, r, c, sub) => {
            viaVisit.push(`${f}.${r}.${c}.${sub}=${v}`);
            assert.equal(seg.get(f, r, c, sub) ?? "", v);
          });
          const viaNodes: string[] = [];
          for (let f = seg.name === "MSH" ? 3 : 1; f <= seg.fieldCount; f++) {
            const node = seg.field(f);
            if (node === undefined) {
              viaNodes.push(`${f}.1.1.1=`);
              continue;
            }
            node.children.forEach((rep, r) => rep.children.forEach((comp, c) => comp.children.forEach((sub, k) => viaNodes.push(`${f}.${r + 1}.${c + 1}.${k + 1}=${sub.value}`))));
          }
          assert.deepEqual(viaNodes, viaVisit, `segment ${seg.name} of input #${i}`);
          checked++;
        }
      }
      assert.ok(checked > 1000, `${checked} segments checked`);
    });
  });

  describe("framing and line endings", () => {
    const expected = dump(parseHl7(SAMPLE));
    const variants: Record<string, string> = {
      LF: SAMPLE.replace(/\r/g, "\n"),
      CRLF: SAMPLE.replace(/\r/g, "\r\n"),
      "trailing CR": SAMPLE + "\r",
      "trailing whitespace and blank lines": SAMPLE + "\r\n\r\n  \t\n",
      BOM: "\uFEFF" + SAMPLE,
      "MLLP framing": "\u000b" + SAMPLE + "\r\u001c\r",
      "BOM inside MLLP framing, LF": "\u000b\uFEFF" + SAMPLE.replace(/\r/g, "\n") + "\n\u001c\r",
      "blank lines between segments": SAMPLE.replace(/\r/g, "\r\n\r\n"),
    };
    for (const [name, text] of Object.entries(variants)) {
      it(`parses identically with ${name}`, () => {
        assert.deepEqual(dump(parseHl7(text)), expected);
        assert.equal(parseHl7(text).raw, SAMPLE);
      });
    }
  });

  describe("escape sequences", () => {
    const d = DEFAULT_DELIMITERS;
    const cases: [string, string][] = [
      ["a\\F\\b", "a|b"],
      ["a\\S\\b", "a^b"],
      ["a\\T\\b", "a&b"],
      ["a\\R\\b", "a~b"],
      ["a\\E\\b", "a\\b"],
      ["\\X41\\", "A"],
      ["\\X0D0A\\", "\r\n"],
      ["Ren\\XC3A9\\e", "Renée"], // UTF-8 bytes
      ["Ren\\XE9\\e", "Renée"], // not valid UTF-8: read as ISO-8859-1
      ["line1\\.br\\line2", "line1\nline2"],
      ["\\H\\bold\\N\\ text", "bold text"],
      ["keep \\Zxx\\ literal", "keep \\Zxx\\ literal"],
      ["odd hex \\X414\\ stays", "odd hex \\X414\\ stays"],
      ["bad hex \\XZZ\\ stays", "bad hex \\XZZ\\ stays"],
      ["unterminated \\F", "unterminated \\F"],
      ["stray \\ then \\F\\ still decodes", "stray \\ then | still decodes"],
      ["\\P\\ without truncation character", "\\P\\ without truncation character"],
      ["no escapes at all", "no escapes at all"],
    ];
    for (const [raw, value] of cases) {
      it(`unescapes ${JSON.stringify(raw)}`, () => {
        assert.equal(unescapeHl7(raw, d), value);
      });
    }

    it("uses the message's own escape character, not always a backslash", () => {
      const text = "MSH|^~$&|A|B|C|D|20260101||ADT^A08|X1|P|2.5\rPID|||1||Smith$T$Jones^Back\\slash$F$x^$E$$.br$y";
      const msg = parseHl7(text);
      assert.equal(msg.delimiters.escape, "$");
      assert.equal(msg.get("PID-5.1"), "Smith&Jones");
      assert.equal(msg.get("PID-5.2"), "Back\\slash|x");
      assert.equal(msg.get("PID-5.3"), "$\ny");
    });

    it("supports the v2.7 truncation character as a 5th MSH-2 character", () => {
      const msg = parseHl7("MSH|^~\\&#|A|B|C|D|20260101||ADT^A06|X2|P|2.7\rPID|||1||TRUNC\\P\\ATED#^Eve");
      assert.equal(msg.delimiters.truncation, "#");
      assert.equal(msg.get("MSH-2"), "^~\\&#");
      assert.equal(msg.get("MSH-3"), "A");
      assert.equal(msg.get("PID-5.1"), "TRUNC#ATED#");
      assert.equal(msg.get("PID-5.2"), "Eve");
    });

    it("escape then unescape returns the original string (random strings, every delimiter)", () => {
      const rnd = seededRandom(7);
      const alphabet = "ab|^~\\&#\r\nXé1 .";
      const withTrunc: Hl7Delimiters = { ...d, truncation: "#" };
      for (let i = 0; i < 500; i++) {
        let s = "";
        const len = Math.floor(rnd() * 20);
        for (let k = 0; k < len; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
        assert.equal(unescapeHl7(escapeHl7(s, withTrunc), withTrunc), s);
        const escaped = escapeHl7(s, d);
        for (const ch of ["|", "^", "~", "&", "\r", "\n"]) assert.ok(!escaped.includes(ch), `escaped text has no raw ${JSON.stringify(ch)}`);
      }
    });
  });

  describe("delimiter remapping invariance (property)", () => {
    const sets: Hl7Delimiters[] = [
      { field: "#", component: "$", repetition: "*", escape: "!", subcomponent: "@" },
      { field: "!", component: "@", repetition: "%", escape: "\\", subcomponent: "#" },
      { field: "|", component: "&", repetition: "^", escape: "~", subcomponent: "\\" },
      { field: "|", component: "^", repetition: "~", escape: "\\", subcomponent: "&", truncation: "#" },
    ];
    // Random delimiter sets drawn from printable punctuation.
    const rnd = seededRandom(42);
    const pool = "!#$%&*+,-./:;<=>?@[\\]^_`{|}~";
    for (let i = 0; i < 6; i++) {
      const chars: string[] = [];
      while (chars.length < 5) {
        const c = pool[Math.floor(rnd() * pool.length)];
        if (!chars.includes(c)) chars.push(c);
      }
      sets.push({ field: chars[0], component: chars[1], repetition: chars[2], escape: chars[3], subcomponent: chars[4] });
    }

    for (const m of loadAdtCorpus()) {
      it(`re-encoding ${m.name} with ${sets.length} delimiter sets keeps every value`, () => {
        const original = parseHl7(m.text);
        const expected = dump(original);
        for (const set of sets) {
          const text = reencodeHl7(original, set);
          const again = parseHl7(text);
          assert.deepEqual({ ...again.delimiters }, { ...set });
          assert.deepEqual(dump(again), expected, `values differ with delimiters ${JSON.stringify(set)}`);
        }
      });
    }
  });

  describe("malformed input", () => {
    it("rejects empty input and input without MSH", () => {
      assertParseError("", "MSH", 0, /empty message/);
      assertParseError("   \r\n", "MSH", 0, /empty message/);
      assertParseError("PID|||123", "MSH", 0, /does not start with an MSH segment/);
      assertParseError("Hello, world", "MSH", 0, /does not start with an MSH segment/);
    });

    it("rejects bad delimiters", () => {
      assertParseError("MSH|^~\\", "MSH", 2, /truncated/);
      assertParseError("MSH|^^\\&|A|B", "MSH", 2, /different/);
      assertParseError("MSH|^~\\|&|A|B", "MSH", 2, /4 characters/);
      assertParseError("MSH|^~\\&xy|A|B", "MSH", 2, /4 characters/);
      assertParseError("MSH|^~A&|A|B", "MSH", 2, /non-alphanumeric/);
      assertParseError("MSHA^~\\&A1", "MSH", 1, /field separator/);
      assertParseError("MSH ^~\\& 1", "MSH", 1, /field separator/);
    });

    it("rejects a truncated or invalid segment, naming its position", () => {
      assertParseError("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPI", "segment 2", 0, /segment id/);
      assertParseError("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID|1\rpv1|x", "segment 3", 0, /segment id/);
      assertParseError("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID^1", "segment 2", 0, /segment id/);
    });

    it("rejects a truncated MLLP frame and extra data after it", () => {
      assertParseError("\u000bMSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID|1", "MSH", 0, /MLLP frame has no end block/);
      assertParseError("\u000bMSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\u001c\rjunk", "MSH", 0, /after the MLLP end block/);
    });

    it("rejects binary junk, naming the segment and field that contain it", () => {
      assertParseError("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID|1||12\u000034", "PID", 3, /control character/);
      assertParseError("MSH|^~\\&|A\u0001|B", "MSH", 3, /control character/);
    });

    it("rejects a second MSH (one message per input)", () => {
      assertParseError("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rMSH|^~\\&|A|B|C|D|1||ADT^A01|2|P|2.5", "segment 2", 0, /second MSH/);
    });

    it("never throws anything but Hl7ParseError on random or mutated input", () => {
      const rnd = seededRandom(1234);
      const base = loadAdtCorpus().map((m) => m.text);
      for (let i = 0; i < 3000; i++) {
        let text: string;
        if (i % 3 === 0) {
          const n = Math.floor(rnd() * 80);
          text = "";
          for (let k = 0; k < n; k++) text += String.fromCharCode(Math.floor(rnd() * 256));
          if (i % 2 === 0) text = "MSH" + text;
        } else {
          const src = base[i % base.length];
          const chars = src.split("");
          const edits = 1 + Math.floor(rnd() * 5);
          for (let e = 0; e < edits; e++) {
            const pos = Math.floor(rnd() * chars.length);
            const op = Math.floor(rnd() * 3);
            if (op === 0) chars.splice(pos, 1);
            else if (op === 1) chars.splice(pos, 0, String.fromCharCode(Math.floor(rnd() * 128)));
            else chars.length = Math.max(0, pos);
          }
          text = chars.join("");
        }
        try {
          const msg = parseHl7(text);
          dump(msg); // reading every value must not throw either
          void msg.controlId;
          void msg.get("PID-3[2].4.2");
        } catch (err) {
          assert.ok(err instanceof Hl7ParseError, `input #${i} threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
      }
    });

    it("rejects non-string input with Hl7ParseError", () => {
      assert.throws(() => parseHl7(undefined as unknown as string), Hl7ParseError);
      assert.throws(() => parseHl7(Buffer.from("MSH|^~\\&|") as unknown as string), Hl7ParseError);
    });
  });

  describe("corpus", () => {
    it("parses every message of the ADT corpus", () => {
      const corpus = loadAdtCorpus();
      assert.ok(corpus.length >= 14);
      for (const m of corpus) {
        const msg = parseHl7(m.text);
        assert.equal(msg.messageType, "ADT", m.name);
        assert.ok(msg.controlId, m.name);
        assert.ok(msg.segment("PID"), m.name);
      }
    });

    it("reads the custom-delimiter message with its own delimiters", () => {
      const m = loadAdtCorpus().find((x) => x.name.includes("custom-delimiters"));
      assert.ok(m);
      const msg = parseHl7(m.text);
      assert.deepEqual({ ...msg.delimiters }, { field: "#", component: "$", repetition: "*", escape: "!", subcomponent: "@" });
      assert.equal(msg.get("PID-5.1"), "HASH#TAG");
      assert.equal(msg.get("PID-5.2"), "Pound$Sign");
      assert.equal(msg.get("PID-5.3"), "!Middle");
      assert.equal(msg.get("PID-3[2].1"), "ALT-8");
      assert.equal(msg.triggerEvent, "A08");
    });
  });
});
