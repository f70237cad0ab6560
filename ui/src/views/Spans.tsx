import type { Attribute, StepDetail } from "../api";
import { epochMs, ms } from "../lib/format";
import { Inline } from "./JsonView";

function AttrList({ attrs }: { attrs: Attribute[] }) {
  if (!attrs.length) return null;
  return (
    <div className="attrs">
      {attrs.map((a, i) => (
        <div key={i} className="attr">
          <span className="attr-key">{a.key}</span> <Inline value={a.value} />
        </div>
      ))}
    </div>
  );
}

/** Spans waterfall on the step's own time axis, with each span's attributes beneath it. */
export function Spans({ step }: { step: StepDetail }) {
  const t0 = epochMs(step.start_time);
  const t1 = epochMs(step.end_time);
  const total = t0 !== null && t1 !== null && t1 > t0 ? t1 - t0 : null;
  const actionAttrs = step.attributes.filter((a) => a.span_id === null);
  return (
    <div className="spans" data-testid="spans">
      {step.stream && (
        <div className="stream-box">
          <b>Stream</b>: time to first item <b>{ms(step.stream.ttft_ms)}</b> · {step.stream.items ?? "?"} items ·{" "}
          {step.stream.items_per_second !== null ? `${step.stream.items_per_second.toFixed(1)} items/s` : "–"}
        </div>
      )}
      <div className="span-row span-root">
        <span className="span-name">{step.action}</span>
        <span className="span-bar">
          <span className={`bar bar-${step.status}`} style={{ left: 0, width: "100%" }} />
        </span>
        <span className="span-dur">{ms(step.duration_ms)}</span>
      </div>
      <AttrList attrs={actionAttrs} />
      {step.spans.map((s) => {
        const st = epochMs(s.start_time);
        const en = epochMs(s.end_time);
        let style = { left: "0%", width: "100%" };
        if (total && t0 !== null && st !== null) {
          const width = Math.min(Math.max((((en ?? st) - st) / total) * 100, 0.5), 100);
          const left = Math.max(0, Math.min(((st - t0) / total) * 100, 100 - width));
          style = { left: `${left}%`, width: `${width}%` };
        }
        return (
          <div key={s.span_id}>
            <div className="span-row">
              <span className="span-name" style={{ paddingLeft: 12 + s.depth * 14 }} title={s.span_id}>
                {s.name}
              </span>
              <span className="span-bar">
                <span className="bar bar-span" style={style} />
              </span>
              <span className="span-dur">{ms(s.duration_ms)}</span>
            </div>
            <div style={{ paddingLeft: 12 + s.depth * 14 }}>
              <AttrList attrs={step.attributes.filter((a) => a.span_id === s.span_id)} />
            </div>
          </div>
        );
      })}
      {!step.spans.length && !step.attributes.length && !step.stream && <div className="muted">no spans or attributes</div>}
    </div>
  );
}
