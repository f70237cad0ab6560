// A minimap of the whole app (any length): steps per time slice, failures in red; click to jump.
import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import { ms } from "../lib/format";

interface Bucket {
  index: number;
  start: string | null;
  steps: number;
  failed: number;
  running: number;
  first_sequence_id: number;
  busy_ms: number;
}

const N = 240;

export function Minimap({ project, appId, refreshKey, onJump }: { project: string; appId: string; refreshKey: number; onJump: (seq: number) => void }) {
  const [data, setData] = useState<{ buckets: Bucket[]; bucket_ms?: number | null } | null>(null);
  const last = useRef(0);
  useEffect(() => {
    let live = true;
    // live apps refresh often: redraw the minimap at most every 2 s
    const wait = Math.max(0, last.current + 2000 - Date.now());
    const timer = window.setTimeout(() => {
      last.current = Date.now();
      api.timeline(project, appId, N).then((t) => live && setData(t)).catch(() => {});
    }, wait);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [project, appId, refreshKey]);
  if (!data || data.buckets.length === 0) return null;
  const max = Math.max(...data.buckets.map((b) => b.steps));
  return (
    <svg className="minimap" viewBox={`0 0 ${N} 24`} preserveAspectRatio="none" data-testid="minimap">
      {data.buckets.map((b) => {
        const h = 3 + (21 * Math.log1p(b.steps)) / Math.log1p(max);
        const cls = b.failed ? "mm-failed" : b.running ? "mm-running" : "mm-ok";
        return (
          <rect key={b.index} x={b.index} y={24 - h} width={1} height={h} className={cls} onClick={() => onJump(b.first_sequence_id)}>
            <title>
              {b.steps} steps from #{b.first_sequence_id}
              {b.failed ? `, ${b.failed} failed` : ""} · busy {ms(b.busy_ms)} of {ms(data.bucket_ms ?? null)}
            </title>
          </rect>
        );
      })}
    </svg>
  );
}
