import { useEffect, useState } from "react";
import { api, ApiError, setToken, type Version } from "./api";
import { href, useRoute } from "./lib/router";
import { Annotations } from "./views/Annotations";
import { AppList } from "./views/AppList";
import { AppView } from "./views/AppView";
import { Compare } from "./views/Compare";
import { ProjectList } from "./views/ProjectList";

function TokenPrompt() {
  const [value, setValue] = useState("");
  return (
    <form
      className="page"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value);
        window.location.reload();
      }}
    >
      <h2>This server needs a token</h2>
      <p className="muted">It was started with --token. Enter it (kept in this browser's local storage).</p>
      <input type="password" value={value} onChange={(e) => setValue(e.target.value)} autoFocus />
      <button className="primary">Continue</button>
    </form>
  );
}

export function App() {
  const route = useRoute();
  const [version, setVersion] = useState<Version | null>(null);
  const [needToken, setNeedToken] = useState(false);
  useEffect(() => {
    api
      .version()
      .then(setVersion)
      .catch((e) => e instanceof ApiError && e.status === 401 && setNeedToken(true));
  }, []);
  const [first, project, kind, a, s, b] = route.parts;
  let body;
  if (needToken) body = <TokenPrompt />;
  else if (first !== "p" || !project) body = <ProjectList />;
  else if (kind === "a" && a) body = <AppView key={`${project}/${a}`} project={project} appId={a} seq={s === "s" && b !== undefined && /^\d+$/.test(b) ? Number(b) : null} version={version} />;
  else if (kind === "compare" && a && s) body = <Compare project={project} a={a} b={s} />;
  else if (kind === "annotations") body = <Annotations project={project} />;
  else body = <AppList key={`${project}/${route.query.get("parent") ?? ""}`} project={project} parent={route.query.get("parent") ?? undefined} />;
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href()}>
          <img src="favicon.svg" alt="" width={18} height={18} /> Burr
        </a>
        <nav className="crumbs" data-testid="crumbs">
          <a href={href()}>projects</a>
          {project && (
            <>
              {" / "}
              <a href={href("p", project)}>{project}</a>
            </>
          )}
          {kind === "a" && a && (
            <>
              {" / "}
              <a href={href("p", project, "a", a)}>{a.length > 30 ? a.slice(0, 24) + "…" : a}</a>
            </>
          )}
        </nav>
        <span className="spacer" />
        {version?.read_only && <span className="chip">read-only</span>}
        <span className="muted small">{version ? `burr ${version.version}` : ""}</span>
      </header>
      <main>{body}</main>
    </div>
  );
}
