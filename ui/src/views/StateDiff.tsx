import { useMemo, useState } from "react";
import { diff, pathText } from "../lib/diff";
import { Inline, JsonView } from "./JsonView";

type Mode = "diff" | "after" | "before";

function strip(state: Record<string, unknown> | null, hideInternal: boolean, only: string[] | null) {
  if (!state) return state;
  return Object.fromEntries(
    Object.entries(state).filter(([k]) => !(hideInternal && k.startsWith("__")) && (only === null || only.includes(k))),
  );
}

export function StateDiff({
  before,
  after,
  beforeSource,
  labels = { after: "State after", before: "State before" },
  focusKeys,
}: {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  beforeSource: string | null;
  labels?: { after: string; before: string };
  focusKeys?: string[];
}) {
  const [mode, setMode] = useState<Mode>("diff");
  const [hideInternal, setHideInternal] = useState(true);
  const [focus, setFocus] = useState(false);
  const only = focus && focusKeys ? focusKeys : null;
  const b = strip(before, hideInternal, only);
  const a = strip(after, hideInternal, only);
  const changes = useMemo(() => diff(b ?? {}, a ?? {}), [b, a]);
  return (
    <div className="state">
      <div className="toolbar">
        {(["diff", "after", "before"] as Mode[]).map((m) => (
          <button key={m} className={mode === m ? "seg active" : "seg"} onClick={() => setMode(m)}>
            {m === "diff" ? `Diff (${changes.length})` : m === "after" ? labels.after : labels.before}
          </button>
        ))}
        <label className="check">
          <input type="checkbox" checked={hideInternal} onChange={(e) => setHideInternal(e.target.checked)} /> hide
          __internal keys
        </label>
        {focusKeys && (
          <label className="check" title={focusKeys.join(", ")}>
            <input type="checkbox" checked={focus} onChange={(e) => setFocus(e.target.checked)} data-testid="focus-keys" /> only keys the
            action reads/writes
          </label>
        )}
      </div>
      {mode === "diff" && (
        <div className="diff" data-testid="state-diff">
          <div className="muted small">
            compared with {beforeSource ?? "an empty state (first step)"}
            {after === null && " — this step has no recorded state yet"}
          </div>
          {changes.length === 0 && <div className="muted">no changes</div>}
          <table className="diff-table">
            <tbody>
              {changes.map((c, i) => (
                <tr key={i} className={`diff-${c.kind}`}>
                  <td className="diff-kind">{c.kind}</td>
                  <td className="diff-path">{pathText(c.path)}</td>
                  <td className="diff-before">{"before" in c ? <Inline value={c.before} /> : ""}</td>
                  <td className="diff-arrow">{c.kind === "changed" ? "→" : ""}</td>
                  <td className="diff-after">{"after" in c ? <Inline value={c.after} /> : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {mode === "after" && (a ? <JsonView value={a} /> : <div className="muted">no state recorded</div>)}
      {mode === "before" && (b ? <JsonView value={b} /> : <div className="muted">no prior state</div>)}
    </div>
  );
}
