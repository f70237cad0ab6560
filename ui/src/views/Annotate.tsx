import { useEffect, useState } from "react";
import { api, type Annotation, type StepDetail } from "../api";

export function Annotate({ project, appId, step, readOnly, onSaved }: { project: string; appId: string; step: StepDetail; readOnly: boolean; onSaved: () => void }) {
  const [existing, setExisting] = useState<Annotation | null>(null);
  const [thumbs, setThumbs] = useState<boolean | null>(null);
  const [note, setNote] = useState("");
  const [truth, setTruth] = useState("");
  const [tags, setTags] = useState("");
  const [status, setStatus] = useState("");
  useEffect(() => {
    let live = true;
    api.annotations(project, appId).then((r) => {
      if (!live) return;
      const a = r.annotations.find((x) => x.step_sequence_id === step.sequence_id) ?? null;
      setExisting(a);
      const o = a?.observations[0];
      setThumbs(o?.thumbs_up_thumbs_down ?? null);
      setNote(String(o?.data_fields.note ?? ""));
      setTruth(String(o?.data_fields.ground_truth ?? ""));
      setTags((a?.tags ?? []).join(", "));
    });
    return () => {
      live = false;
    };
  }, [project, appId, step.sequence_id]);
  const save = async () => {
    const body = {
      tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
      observations: [{ thumbs_up_thumbs_down: thumbs, data_fields: { note, ground_truth: truth }, data_pointers: [] }],
    };
    try {
      const a = existing
        ? await api.updateAnnotation(project, existing.id, body)
        : await api.createAnnotation(project, appId, step.sequence_id, { ...body, step_name: step.action });
      setExisting(a);
      setStatus("saved");
      onSaved();
    } catch (e) {
      setStatus(String(e));
    }
  };
  return (
    <div className="annotate" data-testid="annotate">
      <div className="toolbar">
        <button className={thumbs === true ? "seg active" : "seg"} onClick={() => setThumbs(thumbs === true ? null : true)} title="good" data-testid="thumbs-up">
          ✓ good
        </button>
        <button className={thumbs === false ? "seg active" : "seg"} onClick={() => setThumbs(thumbs === false ? null : false)} title="bad" data-testid="thumbs-down">
          ✗ bad
        </button>
      </div>
      <label>
        Note
        <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} />
      </label>
      <label>
        Ground truth
        <textarea value={truth} onChange={(e) => setTruth(e.target.value)} rows={2} />
      </label>
      <label>
        Tags (comma separated)
        <input value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <div className="toolbar">
        <button className="primary" disabled={readOnly} onClick={save} title={readOnly ? "server is read-only" : ""}>
          {existing ? "Update annotation" : "Save annotation"}
        </button>
        <span className="muted">{status}</span>
        <a className="link" href={api.exportUrl(project)} download>
          export project annotations (JSONL)
        </a>
      </div>
    </div>
  );
}
