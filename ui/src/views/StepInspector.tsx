import { useEffect, useState } from "react";
import { api, type AppDetail, type StepDetail } from "../api";
import { attemptRows, resolveRoute, type Route } from "../lib/errors";
import { dateTime, epochMs, ms, short } from "../lib/format";
import { href } from "../lib/router";
import { Annotate } from "./Annotate";
import { Fork } from "./Fork";
import { JsonView } from "./JsonView";
import { Spans } from "./Spans";
import { StateDiff } from "./StateDiff";

function Transition({ transition, route }: { transition: Record<string, unknown> | null; route: Route | null }) {
  // a logged record lists every condition evaluated; an implied one is the first applicable transition
  const rec = transition && !transition.implied ? transition : null;
  const evaluated: Record<string, unknown>[] = rec
    ? Array.isArray(rec.evaluated)
      ? (rec.evaluated as Record<string, unknown>[])
      : []
    : route
      ? [{ to: route.to, condition: route.condition, value: true }]
      : [];
  const from = rec ? String(rec.from_ ?? "") : (route?.from ?? "");
  const to = rec ? rec.to : (route?.to ?? null);
  return (
    <>
      <h4>Transition</h4>
      <div className="small" data-testid="transition">
        <b>{from}</b> → <b>{to === null || to === undefined ? "(halt: no transition)" : String(to)}</b>
        {route?.error && <span className="chip chip-failed">error route</span>}
        {!rec && route ? <span className="muted"> (first applicable transition; not logged, implied)</span> : null}
      </div>
      {evaluated.length > 0 && (
        <table className="diff-table">
          <tbody>
            {evaluated.map((e, i) => (
              <tr key={i} className={e.value ? "diff-added" : ""}>
                <td className="diff-path">→ {String(e.to)}</td>
                <td>{String(e.condition)}</td>
                <td className="diff-kind">{e.value ? "true" : "false"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Attempts({ step, route }: { step: StepDetail; route: Route | null }) {
  const rows = attemptRows(step, epochMs);
  const last = rows[rows.length - 1];
  const final = last.outcome === "ok" ? "the last succeeded" : route?.error ? `all failed, then the error route to ${route.to}` : "all failed";
  return (
    <div className="attempts" data-testid="attempts">
      <b>Retried:</b> <span className="muted">{rows.length} attempts, {final}</span>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>outcome</th>
            <th title="the attempt's own run time">duration</th>
            <th title="when the attempt ended, from the step's start (includes backoff waits)">ended</th>
            <th>exception</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.attempt} data-testid="attempt-row">
              <td className="num">{r.attempt}</td>
              <td className={`out-${r.outcome}`}>
                {r.outcome === "ok" ? "succeeded" : r.outcome === "retried" ? "failed, retried" : route?.error ? `failed → ${route.to}` : "failed"}
              </td>
              <td className="num" title={r.durationMs === null ? "the server does not report when this attempt started" : undefined}>
                {ms(r.durationMs)}
              </td>
              <td className="num">{r.endedAt === null ? "–" : `+${ms(r.endedAt)}`}</td>
              <td className="err">{r.error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const TABS = ["state", "data", "spans", "code", "fork", "annotate"] as const;
type Tab = (typeof TABS)[number];

export function StepInspector({
  app,
  seq,
  refreshKey,
  readOnly,
  storageDir,
  onStep,
  onAnnotated,
  onLoaded,
}: {
  app: AppDetail;
  seq: number;
  refreshKey: number;
  readOnly: boolean;
  storageDir: string | null;
  onStep: (delta: number) => void;
  onAnnotated: () => void;
  onLoaded?: (action: string, taken: Route | null, position: number) => void;
}) {
  const [step, setStep] = useState<StepDetail | null>(null);
  const [route, setRoute] = useState<Route | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("state");
  useEffect(() => {
    let live = true;
    api
      .step(app.project, app.app_id, seq)
      .then(async (s) => {
        // an unlogged transition (implied, or a failed step's error route) is confirmed by the next step
        let next: string | null = null;
        if (s.status !== "running" && (!s.transition || s.transition.implied)) {
          next = await api
            .neighbor(app.project, app.app_id, s.sequence_id, "next")
            .then((n) => n?.action ?? null)
            .catch(() => null);
        }
        if (live) {
          const r = resolveRoute(app.graph, s, next);
          setStep(s);
          setRoute(r);
          onLoaded?.(s.action, r, s.position);
          setError(null);
        }
      })
      .catch((e) => live && setError(String(e.message ?? e)));
    return () => {
      live = false;
    };
    // a running step, or the last one (its transition is not known yet), is refetched as events arrive
  }, [app.project, app.app_id, seq, step?.status === "running" || (step !== null && route === null) ? refreshKey : 0]);
  if (error) return <div className="pad error">{error}</div>;
  if (!step || step.sequence_id !== seq) return <div className="pad muted">loading step {seq}…</div>;
  const action = app.graph?.actions.find((a) => a.name === step.action);
  return (
    <div className="inspector" data-testid="inspector">
      <div className="insp-head">
        <button className="icon" onClick={() => onStep(-1)} title="previous step (↑)" data-testid="prev-step">
          ◀
        </button>
        <button className="icon" onClick={() => onStep(1)} title="next step (↓)" data-testid="next-step">
          ▶
        </button>
        <span className="insp-title">
          <span className="muted">step</span> <b data-testid="insp-seq">{step.sequence_id}</b> · <b>{step.action}</b>
        </span>
        <span className={`chip chip-${step.status}`}>{step.status}</span>
        <span className="muted small">
          {dateTime(step.start_time)} · {ms(step.duration_ms)}
          {step.stream && ` · TTFT ${ms(step.stream.ttft_ms)} · ${step.stream.items_per_second?.toFixed(1) ?? "–"} items/s`}
        </span>
        <a className="link small" href={href("p", app.project, "a", app.app_id, "s", step.sequence_id)} title="stable link to this step">
          link
        </a>
      </div>
      {step.warnings.map((w, i) => (
        <div key={i} className="warning">
          {w}
        </div>
      ))}
      {step.attempt_history.length > 1 && <Attempts step={step} route={route} />}
      {route?.error && (
        <div className="error-route" data-testid="error-route">
          Handled: the error took the route to <b>{route.to}</b> (<code>{route.condition}</code>); the app went on.
        </div>
      )}
      {step.exception && <pre className="exception">{step.exception}</pre>}
      {step.children.length > 0 && (
        <div className="children-box">
          <b>Child apps of this step:</b>{" "}
          {step.children.map((c) => (
            <a key={c.app_id} className="link chip" href={href("p", app.project, "a", c.app_id)} title={c.app_id}>
              {c.event_type === "fork" ? "fork " : ""}
              {short(c.app_id, 18)}
            </a>
          ))}
        </div>
      )}
      <div className="tabs">
        {TABS.map((t) => (
          <button key={t} className={tab === t ? "tab active" : "tab"} onClick={() => setTab(t)} data-testid={`tab-${t}`}>
            {t}
          </button>
        ))}
      </div>
      <div className="tab-body">
        {tab === "state" && (
          <StateDiff
            before={step.state_before}
            after={step.state}
            beforeSource={step.state_before_source}
            focusKeys={action ? [...new Set([...action.reads, ...action.writes])] : undefined}
          />
        )}
        {tab === "data" && (
          <div>
            <h4>Inputs</h4>
            <JsonView value={step.inputs ?? {}} />
            <h4>Result</h4>
            <JsonView value={step.result ?? null} />
            {(step.transition || route) && <Transition transition={step.transition} route={route} />}
          </div>
        )}
        {tab === "spans" && <Spans step={step} />}
        {tab === "code" && (
          <div>
            {action ? (
              <>
                <div className="small">
                  reads: {action.reads.map((r) => <span key={r} className="chip">{r}</span>)} writes:{" "}
                  {action.writes.map((w) => <span key={w} className="chip">{w}</span>)}
                </div>
                <pre className="code">{action.code || "(no source recorded)"}</pre>
              </>
            ) : (
              <div className="muted">no code recorded</div>
            )}
          </div>
        )}
        {tab === "fork" && <Fork app={app} seq={step.sequence_id} storageDir={storageDir} />}
        {tab === "annotate" && <Annotate project={app.project} appId={app.app_id} step={step} readOnly={readOnly} onSaved={onAnnotated} />}
      </div>
    </div>
  );
}
