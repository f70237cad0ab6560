import { describe, expect, it } from "vitest";
import { diff } from "./diff";

describe("diff", () => {
  it("reports added, removed and changed keys", () => {
    const out = diff({ a: 1, b: 2 }, { a: 3, c: 4 });
    expect(out).toEqual([
      { path: ["a"], kind: "changed", before: 1, after: 3 },
      { path: ["b"], kind: "removed", before: 2 },
      { path: ["c"], kind: "added", after: 4 },
    ]);
  });

  it("reports a list insert in the middle as one insert", () => {
    expect(diff({ l: [1, 2, 3] }, { l: [1, 9, 2, 3] })).toEqual([{ path: ["l", 1], kind: "inserted", after: 9 }]);
  });

  it("reports a list removal as a delete", () => {
    expect(diff([1, 2, 3], [1, 3])).toEqual([{ path: [1], kind: "deleted", before: 2 }]);
  });

  it("recurses into changed list items at the same index", () => {
    expect(diff([{ n: 1 }], [{ n: 2 }])).toEqual([{ path: [0, "n"], kind: "changed", before: 1, after: 2 }]);
  });
});
