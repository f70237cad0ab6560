import { useEffect, useState } from "react";
import { api, type Annotation } from "../api";
import { dateTime } from "../lib/format";
import { href } from "../lib/router";

export function Annotations({ project }: { project: string }) {
  const [items, setItems] = useState<Annotation[] | null>(null);
  const [filter, setFilter] = useState("");
  useEffect(() => {
    api.annotations(project).then((r) => setItems(r.annotations));
  }, [project]);
  const shown = (items ?? []).filter(
    (a) => !filter || a.tags.some((t) => t.includes(filter)) || a.step_name.includes(filter) || a.app_id.includes(filter),
  );
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Annotations · {project}</h2>
        <input placeholder="filter by tag, action or app…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <a className="link" href={api.exportUrl(project)} download data-testid="export-annotations">
          export JSONL
        </a>
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>App</th>
            <th>Step</th>
            <th>Rating</th>
            <th>Tags</th>
            <th>Note</th>
            <th>Ground truth</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((a) => {
            const o = a.observations[0];
            return (
              <tr key={a.id}>
                <td>
                  <a className="link" href={href("p", project, "a", a.app_id, "s", a.step_sequence_id)}>
                    {a.app_id}
                  </a>
                </td>
                <td>
                  {a.step_sequence_id} {a.step_name}
                </td>
                <td>{o?.thumbs_up_thumbs_down === true ? "✓ good" : o?.thumbs_up_thumbs_down === false ? "✗ bad" : ""}</td>
                <td>{a.tags.map((t) => <span key={t} className="chip">{t}</span>)}</td>
                <td>{String(o?.data_fields.note ?? "")}</td>
                <td>{String(o?.data_fields.ground_truth ?? "")}</td>
                <td>{dateTime(a.updated)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {items && items.length === 0 && <div className="muted pad">no annotations yet: open a step and use its "annotate" tab</div>}
    </div>
  );
}
