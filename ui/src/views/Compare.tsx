import { useEffect, useState } from "react";
import { api, type StepDetail, type StepSummary } from "../api";
import { ms, short } from "../lib/format";
import { href } from "../lib/router";
import { StateDiff } from "./StateDiff";

const LIMIT = 2000;

/** Two apps side by side, aligned by position; pick a row to diff their states after that step. */
export function Compare({ project, a, b }: { project: string; a: string; b: string }) {
  const [left, setLeft] = useState<StepSummary[] | null>(null);
  const [right, setRight] = useState<StepSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [row, setRow] = useState<number | null>(null);
  const [pair, setPair] = useState<[StepDetail | null, StepDetail | null] | null>(null);
  useEffect(() => {
    Promise.all([api.steps(project, a, 0, LIMIT), api.steps(project, b, 0, LIMIT)])
      .then(([x, y]) => {
        setLeft(x.steps);
        setRight(y.steps);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [project, a, b]);
  useEffect(() => {
    if (row === null || !left || !right) return;
    const l = left[row];
    const r = right[row];
    Promise.all([l ? api.step(project, a, l.sequence_id) : null, r ? api.step(project, b, r.sequence_id) : null]).then((p) =>
      setPair(p as [StepDetail | null, StepDetail | null]),
    );
  }, [row, left, right, project, a, b]);
  if (error) return <div className="pad error">{error}</div>;
  if (!left || !right) return <div className="pad muted">loading…</div>;
  const n = Math.max(left.length, right.length);
  return (
    <div className="page compare">
      <h2>
        Compare <a className="link" href={href("p", project, "a", a)}>{short(a)}</a> with{" "}
        <a className="link" href={href("p", project, "a", b)}>{short(b)}</a>
      </h2>
      <div className="compare-body">
        <table className="grid compare-table" data-testid="compare">
          <thead>
            <tr>
              <th>#</th>
              <th>{short(a, 16)}</th>
              <th>duration</th>
              <th>{short(b, 16)}</th>
              <th>duration</th>
            </tr>
          </thead>
          <tbody>
            {Array.from({ length: n }, (_, i) => {
              const l = left[i];
              const r = right[i];
              const same = l && r && l.action === r.action;
              return (
                <tr key={i} className={`clickable ${row === i ? "selected" : ""} ${same ? "" : "mismatch"}`} onClick={() => setRow(i)}>
                  <td>{i}</td>
                  <td className={l ? `st-${l.status}` : ""}>{l ? `${l.sequence_id} ${l.action}` : "–"}</td>
                  <td>{l ? ms(l.duration_ms) : ""}</td>
                  <td className={r ? `st-${r.status}` : ""}>{r ? `${r.sequence_id} ${r.action}` : "–"}</td>
                  <td>{r ? ms(r.duration_ms) : ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div className="compare-detail">
          {row === null && <div className="muted">pick a row to diff the two apps' states after that step</div>}
          {pair && (
            <StateDiff
              before={pair[0]?.state ?? null}
              after={pair[1]?.state ?? null}
              beforeSource={`${short(a, 16)} (left) → ${short(b, 16)} (right)`}
              labels={{ before: `${short(a, 16)} (left)`, after: `${short(b, 16)} (right)` }}
            />
          )}
        </div>
      </div>
    </div>
  );
}
