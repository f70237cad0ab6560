// A structural diff of two JSON values: added / removed / changed keys, list inserts and removals (LCS).

export type ChangeKind = "added" | "removed" | "changed" | "inserted" | "deleted";

export interface Change {
  path: (string | number)[];
  kind: ChangeKind;
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const key = (v: unknown): string => JSON.stringify(v) ?? "undefined";

export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return key(a) === key(b);
}

/** Pairs of matching indexes (LCS) between two lists; falls back to prefix/suffix for huge lists. */
export function lcsPairs(a: unknown[], b: unknown[]): [number, number][] {
  const ka = a.map(key);
  const kb = b.map(key);
  let start = 0;
  while (start < ka.length && start < kb.length && ka[start] === kb[start]) start++;
  let endA = ka.length;
  let endB = kb.length;
  while (endA > start && endB > start && ka[endA - 1] === kb[endB - 1]) {
    endA--;
    endB--;
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < start; i++) pairs.push([i, i]);
  const n = endA - start;
  const m = endB - start;
  if (n > 0 && m > 0 && n * m <= 4_000_000) {
    const dp: Uint32Array[] = [];
    for (let i = 0; i <= n; i++) dp.push(new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        dp[i][j] =
          ka[start + i] === kb[start + j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (ka[start + i] === kb[start + j]) {
        pairs.push([start + i, start + j]);
        i++;
        j++;
      } else if (dp[i + 1][j] >= dp[i][j + 1]) i++;
      else j++;
    }
  }
  for (let k = 0; k < ka.length - endA; k++) pairs.push([endA + k, endB + k]);
  return pairs;
}

export function diff(before: unknown, after: unknown, path: (string | number)[] = []): Change[] {
  if (equal(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const out: Change[] = [];
    for (const k of Object.keys(before)) {
      if (!(k in after)) out.push({ path: [...path, k], kind: "removed", before: before[k] });
      else out.push(...diff(before[k], after[k], [...path, k]));
    }
    for (const k of Object.keys(after)) {
      if (!(k in before)) out.push({ path: [...path, k], kind: "added", after: after[k] });
    }
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const pairs = lcsPairs(before, after);
    const out: Change[] = [];
    const matchedA = new Set(pairs.map((p) => p[0]));
    const matchedB = new Set(pairs.map((p) => p[1]));
    // an unmatched item at the same index on both sides is a change, not a delete + insert
    const removed = before.map((_, i) => i).filter((i) => !matchedA.has(i));
    const inserted = after.map((_, j) => j).filter((j) => !matchedB.has(j));
    const changedIdx = new Set(removed.filter((i) => inserted.includes(i)));
    for (const i of removed) {
      if (changedIdx.has(i)) out.push(...diff(before[i], after[i], [...path, i]));
      else out.push({ path: [...path, i], kind: "deleted", before: before[i] });
    }
    for (const j of inserted) {
      if (!changedIdx.has(j)) out.push({ path: [...path, j], kind: "inserted", after: after[j] });
    }
    return out;
  }
  return [{ path, kind: "changed", before, after }];
}

export function pathText(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
