import { useEffect, useState } from "react";
import { subscribe, type AppDetail } from "../api";
import { href, navigate } from "../lib/router";

const py = (v: string | null) => (v === null ? "None" : JSON.stringify(v));

export function forkSnippet(app: AppDetail, seq: number, storageDir: string | null): string {
  const entry = app.graph?.entrypoint ?? "YOUR_ENTRYPOINT";
  return [
    "from burr.core import ApplicationBuilder",
    "from burr.tracking import LocalTrackingClient",
    "",
    ...(storageDir
      ? ["tracker = LocalTrackingClient(", `    project=${py(app.project)},`, `    storage_dir=${py(storageDir)},`, ")"]
      : [`tracker = LocalTrackingClient(project=${py(app.project)})`]),
    "app = (",
    "    ApplicationBuilder()",
    "    .with_actions(...)  # the same actions as the original app",
    "    .with_transitions(...)  # and the same transitions",
    "    .initialize_from(",
    "        tracker,",
    "        resume_at_next_action=True,",
    "        default_state={},",
    `        default_entrypoint=${py(entry)},`,
    `        fork_from_app_id=${py(app.app_id)},`,
    `        fork_from_partition_key=${py(app.partition_key)},`,
    `        fork_from_sequence_id=${seq},`,
    "    )",
    "    .with_tracker(tracker)",
    "    .build()",
    ")",
    "app.run(halt_after=[...])",
  ].join("\n");
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const ta = document.createElement("textarea");
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
}

export function Fork({ app, seq, storageDir }: { app: AppDetail; seq: number; storageDir: string | null }) {
  const code = forkSnippet(app, seq, storageDir);
  const [copied, setCopied] = useState(false);
  const [waiting, setWaiting] = useState(false);
  const [found, setFound] = useState<string | null>(null);
  useEffect(() => {
    if (!waiting) return;
    return subscribe({ project: app.project, kind: "app" }, (e) => {
      if (e.kind === "app" && e.data.created && e.data.parent_app_id === app.app_id) {
        const id = String(e.data.app_id);
        setFound(id);
        setWaiting(false);
        navigate(href("p", app.project, "a", id));
      }
    });
  }, [waiting, app.project, app.app_id]);
  return (
    <div className="fork" data-testid="fork-panel">
      <p>
        Run this to start a new app from the state after step <b>{seq}</b>. The new app appears here and opens
        automatically.
      </p>
      <pre className="code" data-testid="fork-code">{code}</pre>
      <div className="toolbar">
        <button
          className="primary"
          data-testid="copy-fork"
          onClick={async () => {
            await copyText(code);
            setCopied(true);
            setWaiting(true);
          }}
        >
          {copied ? "Copied ✓" : "Copy code"}
        </button>
        {waiting && <span className="muted">waiting for the forked app to appear…</span>}
        {found && (
          <a href={href("p", app.project, "a", found)} className="link">
            open {found}
          </a>
        )}
      </div>
    </div>
  );
}
