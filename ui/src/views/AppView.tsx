import { useCallback, useEffect, useRef, useState } from "react";
import { api, subscribe, type AppDetail, type Version } from "../api";
import type { Route } from "../lib/errors";
import { ago, epochMs, short } from "../lib/format";
import { href, navigate } from "../lib/router";
import { GraphView } from "./GraphView";
import { Minimap } from "./Minimap";
import { StepInspector } from "./StepInspector";
import { StepTable } from "./StepTable";

export function AppView({ project, appId, seq, version }: { project: string; appId: string; seq: number | null; version: Version | null }) {
  const [app, setApp] = useState<AppDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);
  const [follow, setFollow] = useState(false);
  const [jumpTo, setJumpTo] = useState<{ index: number; nonce: number } | null>(null);
  const [compareWith, setCompareWith] = useState("");
  const [selectedAction, setSelectedAction] = useState<string | null>(null);
  const [taken, setTaken] = useState<Route | null>(null);
  const [gotoSeq, setGotoSeq] = useState("");
  const selectedIndex = useRef<number>(0);
  const followRef = useRef(follow);
  followRef.current = follow;

  const load = useCallback(() => {
    api
      .app(project, appId)
      .then((a) => {
        setApp(a);
        setError(null);
        if (followRef.current && a.last_sequence_id !== null) {
          navigate(href("p", project, "a", appId, "s", a.last_sequence_id), true);
        }
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [project, appId]);

  useEffect(() => {
    setApp(null);
    load();
  }, [load]);

  useEffect(() => {
    let timer: number | undefined;
    const stop = subscribe({ project, app_id: appId }, (e) => {
      if (e.kind === "annotation") return;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        load();
        setRefreshKey((k) => k + 1);
      }, 150);
    });
    return () => {
      stop();
      window.clearTimeout(timer);
    };
  }, [project, appId, load]);

  const select = (s: number, index: number) => {
    selectedIndex.current = index;
    navigate(href("p", project, "a", appId, "s", s), true);
  };

  if (error) return <div className="pad error">{error}</div>;
  if (!app) return <div className="pad muted">loading…</div>;
  const t0 = epochMs(app.first_written);
  const t1 = app.status === "running" ? Date.now() : epochMs(app.last_written);
  const currentAction = seq !== null ? selectedAction : app.status === "running" ? app.last_action : null;
  return (
    <div className="app-view">
      <div className="app-head">
        <h2 title={app.app_id} data-testid="app-title">{short(app.app_id, 40)}</h2>
        <span className={`chip chip-${app.status}`} data-testid="app-status">{app.status}</span>
        {app.partition_key && <span className="chip" title="partition key">pk: {app.partition_key}</span>}
        <span className="muted small" data-testid="app-steps">{app.num_steps} steps · last write {ago(app.last_written)}</span>
        {app.lineage.length > 0 && (
          <span className="small">
            forked from{" "}
            <a className="link" href={href("p", project, "a", app.lineage[0].app_id, "s", app.lineage[0].sequence_id ?? 0)}>
              {short(app.lineage[0].app_id)}@{app.lineage[0].sequence_id}
            </a>
          </span>
        )}
        {app.spawning_parent_pointer && (
          <span className="small">
            spawned by{" "}
            <a className="link" href={href("p", project, "a", app.spawning_parent_pointer.app_id, "s", app.spawning_parent_pointer.sequence_id ?? 0)}>
              {short(app.spawning_parent_pointer.app_id)}@{app.spawning_parent_pointer.sequence_id}
            </a>
          </span>
        )}
        {app.children.length > 0 && (
          <a className="link small" href={`${href("p", project)}?parent=${encodeURIComponent(appId)}`} data-testid="children-link">
            {app.children.length} child apps
          </a>
        )}
        {app.forks.length > 0 && (
          <span className="small">
            forks:{" "}
            {app.forks.map((f) => (
              <a key={f.app_id} className="link chip" href={href("p", project, "a", f.app_id)}>
                {short(f.app_id, 20)}@{f.sequence_id}
              </a>
            ))}
          </span>
        )}
        <span className="spacer" />
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (/^\d+$/.test(gotoSeq)) navigate(href("p", project, "a", appId, "s", Number(gotoSeq)), true);
          }}
        >
          <input className="goto" placeholder="go to step #" value={gotoSeq} onChange={(e) => setGotoSeq(e.target.value)} data-testid="goto" />
        </form>
        {app.status === "failed" || app.node_stats.some((n) => n.failures > 0) ? (
          <button
            data-testid="next-error"
            onClick={() =>
              api.nextFailure(project, appId, seq ?? -1).then((s) => {
                if (s) navigate(href("p", project, "a", appId, "s", s.sequence_id), true);
              })
            }
          >
            next error ›
          </button>
        ) : null}
        <label className="check" title="select each new step as it arrives">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="follow" /> live: follow latest
        </label>
        <form
          className="compare-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (compareWith) navigate(href("p", project, "compare", appId, compareWith));
          }}
        >
          <input placeholder="compare with app id…" value={compareWith} onChange={(e) => setCompareWith(e.target.value)} />
        </form>
      </div>
      {app.warnings.length > 0 && (
        <div className="warning" data-testid="app-warnings">
          ⚠ {app.warnings.length} warning{app.warnings.length > 1 ? "s" : ""} reading this app's log:{" "}
          {app.warnings.slice(0, 3).join(" · ")}
        </div>
      )}
      <div className="app-body">
        <div className="left">
          {app.num_steps >= 50 && <Minimap project={project} appId={appId} refreshKey={refreshKey} onJump={(s) => navigate(href("p", project, "a", appId, "s", s), true)} />}
          <StepTable
            project={project}
            appId={appId}
            total={app.num_steps}
            t0={t0}
            t1={t1}
            selected={seq}
            onSelect={select}
            refreshKey={refreshKey}
            follow={follow}
            jumpTo={jumpTo}
          />
          <div className="graph-box">
            <GraphView app={app} current={currentAction} taken={seq !== null ? taken : null} />
          </div>
        </div>
        <div className="right">
          {seq === null ? (
            <div className="pad muted">Select a step (click a row, or use ↑/↓ in the table) to inspect its state, data, spans and code.</div>
          ) : (
            <StepInspectorWithGraph
              app={app}
              seq={seq}
              refreshKey={refreshKey}
              version={version}
              onStep={(d) => {
                api.neighbor(project, appId, seq, d > 0 ? "next" : "prev").then((s) => {
                  if (s !== null) navigate(href("p", project, "a", appId, "s", s.sequence_id), true);
                });
              }}
              onLoaded={(a, t, position) => {
                setSelectedAction(a);
                setTaken(t);
                if (selectedIndex.current !== position) {
                  selectedIndex.current = position;
                  setJumpTo({ index: position, nonce: Date.now() });
                }
              }}
              onAnnotated={load}
            />
          )}
        </div>
      </div>
    </div>
  );
}

function StepInspectorWithGraph(props: {
  app: AppDetail;
  seq: number;
  refreshKey: number;
  version: Version | null;
  onStep: (d: number) => void;
  onAnnotated: () => void;
  onLoaded: (action: string, taken: Route | null, position: number) => void;
}) {
  return (
    <StepInspector
      app={props.app}
      seq={props.seq}
      refreshKey={props.refreshKey}
      readOnly={props.version?.read_only ?? false}
      storageDir={props.version && !props.version.default_storage_dir ? props.version.storage_dir : null}
      onStep={props.onStep}
      onAnnotated={props.onAnnotated}
      onLoaded={props.onLoaded}
    />
  );
}
