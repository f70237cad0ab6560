import { useCallback, useEffect, useState } from "react";
import { api, subscribe, type AppPage } from "../api";
import { ago, short } from "../lib/format";
import { href, navigate } from "../lib/router";

const PAGE = 100;

export function AppList({ project, parent }: { project: string; parent?: string }) {
  const [q, setQ] = useState("");
  const [status, setStatus] = useState("");
  const [since, setSince] = useState("");
  const [topLevel, setTopLevel] = useState(false);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<AppPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const load = useCallback(() => {
    api
      .apps(project, { q, status, parent, since: since ? new Date(since).toISOString() : undefined, top_level: topLevel || undefined, limit: PAGE, offset })
      .then((p) => {
        setPage(p);
        setError(null);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [project, parent, q, status, since, topLevel, offset]);
  useEffect(load, [load]);
  useEffect(() => {
    let timer: number | undefined;
    const stop = subscribe({ project, kind: "app" }, (e) => {
      if (e.kind !== "app" && e.kind !== "reset") return;
      window.clearTimeout(timer);
      timer = window.setTimeout(load, 250);
    });
    return () => {
      stop();
      window.clearTimeout(timer);
    };
  }, [project, load]);
  return (
    <div className="page">
      <div className="toolbar">
        <h2>{project}</h2>
        {parent && (
          <span className="chip" data-testid="parent-filter">
            children and forks of {parent} <a className="link" href={href("p", project)}>✕</a>
          </span>
        )}
        <input
          placeholder="search app id or partition key (prefix)…"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setOffset(0);
          }}
          data-testid="app-search"
          className="search"
        />
        <select value={status} onChange={(e) => { setStatus(e.target.value); setOffset(0); }} data-testid="status-filter">
          <option value="">any status</option>
          <option value="running">running</option>
          <option value="completed">completed</option>
          <option value="failed">failed</option>
          <option value="empty">empty</option>
        </select>
        <label className="check">
          since <input type="date" value={since} onChange={(e) => { setSince(e.target.value); setOffset(0); }} />
        </label>
        <label className="check">
          <input type="checkbox" checked={topLevel} onChange={(e) => { setTopLevel(e.target.checked); setOffset(0); }} /> hide child apps
        </label>
        <span className="spacer" />
        {picked.length > 0 && (
          <button
            className="primary"
            disabled={picked.length !== 2}
            onClick={() => navigate(href("p", project, "compare", picked[0], picked[1]))}
            data-testid="compare-picked"
          >
            {picked.length === 2 ? "compare the 2 picked apps" : "pick one more app to compare"}
          </button>
        )}
        <a className="link small" href={href("p", project, "annotations")}>
          annotations
        </a>
      </div>
      {error && <div className="error">{error}</div>}
      {page && (
        <>
          <table className="grid" data-testid="apps">
            <thead>
              <tr>
                <th title="pick two apps to compare" />
                <th>App</th>
                <th>Partition key</th>
                <th>Status</th>
                <th className="num">Steps</th>
                <th>Last action</th>
                <th>Lineage</th>
                <th>Last written</th>
              </tr>
            </thead>
            <tbody>
              {page.apps.map((a) => (
                <tr key={a.app_id} className="clickable" onClick={() => (window.location.hash = href("p", project, "a", a.app_id))} data-testid="app-row">
                  <td onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      title="pick to compare"
                      checked={picked.includes(a.app_id)}
                      onChange={(e) =>
                        setPicked((p) => (e.target.checked ? [...p.filter((x) => x !== a.app_id), a.app_id].slice(-2) : p.filter((x) => x !== a.app_id)))
                      }
                    />
                  </td>
                  <td title={a.app_id}>
                    <a className="link" href={href("p", project, "a", a.app_id)}>
                      {short(a.app_id, 36)}
                    </a>
                    {a.num_warnings > 0 && <span className="chip chip-failed" title="log warnings">⚠ {a.num_warnings}</span>}
                    {a.num_annotations > 0 && <span className="chip" title="annotations">{a.num_annotations} notes</span>}
                  </td>
                  <td>{a.partition_key ?? <span className="muted">–</span>}</td>
                  <td>
                    <span className={`chip chip-${a.status}`}>{a.status}</span>
                  </td>
                  <td className="num">{a.num_steps}</td>
                  <td>{a.last_action ?? ""}</td>
                  <td className="small">
                    {a.parent_pointer && <span title="forked from">forked from {short(a.parent_pointer.app_id, 16)}@{a.parent_pointer.sequence_id}</span>}
                    {a.spawning_parent_pointer && <span title="spawned by">↳ spawned by {short(a.spawning_parent_pointer.app_id, 16)}@{a.spawning_parent_pointer.sequence_id}</span>}
                    {a.num_children > 0 && <span title="children"> ({a.num_children} children)</span>}
                  </td>
                  <td title={a.last_written ?? ""}>{ago(a.last_written)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="toolbar">
            <span className="muted small">
              {page.total === 0 ? "no apps" : `${offset + 1}–${offset + page.apps.length} of ${page.total}`}
            </span>
            <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              ‹ prev
            </button>
            <button disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>
              next ›
            </button>
          </div>
        </>
      )}
    </div>
  );
}
