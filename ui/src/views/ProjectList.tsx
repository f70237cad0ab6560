import { useEffect, useState } from "react";
import { api, subscribe, type Project } from "../api";
import { ago } from "../lib/format";
import { href } from "../lib/router";

export function ProjectList() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () =>
      api
        .projects()
        .then((r) => setProjects(r.projects))
        .catch((e) => setError(String(e.message ?? e)));
    load();
    let timer: number | undefined;
    const stop = subscribe({ kind: "app" }, (e) => {
      if (e.kind !== "app" && e.kind !== "reset") return;
      window.clearTimeout(timer);
      timer = window.setTimeout(load, 300);
    });
    return () => {
      stop();
      window.clearTimeout(timer);
    };
  }, []);
  if (error) return <div className="pad error">{error}</div>;
  if (!projects) return <div className="pad muted">loading…</div>;
  return (
    <div className="page">
      <h2>Projects</h2>
      {projects.length === 0 && (
        <div className="muted">
          No tracked projects yet. Add <code>.with_tracker("local", project="my_project")</code> to an ApplicationBuilder and run it.
        </div>
      )}
      <table className="grid" data-testid="projects">
        <thead>
          <tr>
            <th>Project</th>
            <th className="num">Apps</th>
            <th className="num">Running</th>
            <th className="num">Failed</th>
            <th>Last written</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {projects.map((p) => (
            <tr key={p.name} className="clickable" onClick={() => (window.location.hash = href("p", p.name))}>
              <td>
                <a className="link" href={href("p", p.name)}>
                  {p.name}
                </a>
                {p.name.startsWith("demo") && <span className="chip">demo</span>}
              </td>
              <td className="num">{p.num_apps}</td>
              <td className="num">{p.num_running || ""}</td>
              <td className="num">{p.num_failed ? <span className="chip chip-failed">{p.num_failed}</span> : ""}</td>
              <td title={p.last_written ?? ""}>{ago(p.last_written)}</td>
              <td onClick={(e) => e.stopPropagation()}>
                <a className="link small" href={href("p", p.name, "annotations")}>
                  annotations
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
