// Virtualized step table: only visible rows are in the DOM; rows load in blocks of 200 on demand.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { api, type StepSummary } from "../api";
import { epochMs, ms } from "../lib/format";

const ROW = 26;
const BLOCK = 200;
const OVERSCAN = 10;

export interface StepTableProps {
  project: string;
  appId: string;
  total: number;
  t0: number | null;
  t1: number | null;
  selected: number | null;
  onSelect: (seq: number, index: number) => void;
  refreshKey: number;
  follow: boolean;
  jumpTo: { index: number; nonce: number } | null;
}

export function StepTable(props: StepTableProps) {
  const { project, appId, total, t0, t1, selected, onSelect, refreshKey, follow, jumpTo } = props;
  const box = useRef<HTMLDivElement>(null);
  const blocks = useRef(new Map<number, StepSummary[]>());
  const inflight = useRef(new Set<number>());
  const [, setVersion] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);

  useEffect(() => {
    blocks.current.clear();
    inflight.current.clear();
    setVersion((v) => v + 1);
  }, [project, appId]);

  // new steps arrived: forget the tail blocks so they reload with fresh rows
  useEffect(() => {
    if (refreshKey === 0) return;
    const last = Math.floor(Math.max(total - 1, 0) / BLOCK);
    blocks.current.delete(last);
    blocks.current.delete(last - 1);
    setVersion((v) => v + 1);
  }, [refreshKey, total]);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = total * ROW;
  }, [follow, total]);

  useEffect(() => {
    if (jumpTo && box.current) {
      const top = jumpTo.index * ROW;
      const el = box.current;
      if (top < el.scrollTop || top > el.scrollTop + el.clientHeight - ROW * 2) el.scrollTop = Math.max(0, top - el.clientHeight / 2);
    }
  }, [jumpTo]);

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(total - 1, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);

  const load = useCallback(
    (b: number) => {
      if (blocks.current.has(b) || inflight.current.has(b)) return;
      inflight.current.add(b);
      api
        .steps(project, appId, b * BLOCK, BLOCK)
        .then((page) => {
          blocks.current.set(b, page.steps);
        })
        .catch(() => {})
        .finally(() => {
          inflight.current.delete(b);
          setVersion((v) => v + 1);
        });
    },
    [project, appId],
  );

  useEffect(() => {
    if (total <= 0) return;
    for (let b = Math.floor(first / BLOCK); b <= Math.floor(last / BLOCK); b++) load(b);
  });

  const rowAt = (i: number): StepSummary | undefined => blocks.current.get(Math.floor(i / BLOCK))?.[i % BLOCK];

  const onKey = (e: React.KeyboardEvent) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    let idx = -1;
    for (let i = first; i <= last; i++) if (rowAt(i)?.sequence_id === selected) idx = i;
    if (idx < 0) {
      for (const [b, rows] of blocks.current) {
        const k = rows.findIndex((r) => r.sequence_id === selected);
        if (k >= 0) idx = b * BLOCK + k;
      }
    }
    const next = Math.min(total - 1, Math.max(0, idx + (e.key === "ArrowDown" ? 1 : -1)));
    const row = rowAt(next);
    if (row) {
      onSelect(row.sequence_id, next);
      const el = box.current!;
      if (next * ROW < el.scrollTop) el.scrollTop = next * ROW;
      if ((next + 1) * ROW > el.scrollTop + el.clientHeight) el.scrollTop = (next + 1) * ROW - el.clientHeight;
    }
  };

  const span = t0 !== null && t1 !== null && t1 > t0 ? t1 - t0 : null;
  const rows = [];
  for (let i = first; i <= last; i++) {
    const s = rowAt(i);
    if (!s) {
      rows.push(
        <div key={i} className="step-row loading" style={{ top: i * ROW }}>
          <span className="c-seq muted">…</span>
        </div>,
      );
      continue;
    }
    const start = epochMs(s.start_time);
    const end = s.end_time ? epochMs(s.end_time) : s.status === "running" ? Date.now() : null;
    let bar = null;
    if (span && start !== null) {
      const width = Math.min(Math.max((((end ?? start) - start) / span) * 100, 0.4), 100);
      const left = Math.max(0, Math.min(((start - t0!) / span) * 100, 100 - width));
      bar = <div className={`bar bar-${s.status}`} style={{ left: `${left}%`, width: `${width}%` }} />;
    }
    rows.push(
      <div
        key={i}
        className={`step-row ${s.sequence_id === selected ? "selected" : ""} st-${s.status}`}
        style={{ top: i * ROW }}
        onClick={() => onSelect(s.sequence_id, i)}
        data-testid="step-row"
        data-seq={s.sequence_id}
      >
        <span className="c-seq">{s.sequence_id}</span>
        <span className="c-action" title={s.action}>
          {s.stream && <span className="chip chip-stream">stream</span>}
          {s.action}
        </span>
        <span className="c-status">
          <span className={`dot dot-${s.status}`} title={s.error ?? s.status} />
        </span>
        <span className="c-dur">{ms(s.duration_ms)}</span>
        <span className="c-bar">{bar}</span>
        <span className="c-badges">
          {s.attempts > 1 && (
            <span
              className="chip chip-retry"
              title={`retried: ${s.attempts} attempts, ${s.status === "failed" ? "all failed" : s.status === "running" ? "still running" : `the last succeeded`}`}
              data-testid="attempts-badge"
            >
              {s.attempts} attempts
            </span>
          )}
          {s.num_spans > 0 && <span className="mini" title="spans">{s.num_spans} sp</span>}
          {s.num_attributes > 0 && <span className="mini" title="attributes">{s.num_attributes} at</span>}
          {s.num_children > 0 && <span className="mini" title="child apps">{s.num_children} ch</span>}
        </span>
      </div>,
    );
  }

  return (
    <div className="step-table" tabIndex={0} onKeyDown={onKey} data-testid="step-table">
      <div className="step-head">
        <span className="c-seq">#</span>
        <span className="c-action">action</span>
        <span className="c-status" />
        <span className="c-dur">duration</span>
        <span className="c-bar">timeline</span>
        <span className="c-badges" />
      </div>
      <div className="step-scroll" ref={box} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        <div style={{ height: total * ROW, position: "relative" }}>{rows}</div>
        {total === 0 && <div className="muted pad">no steps yet</div>}
      </div>
    </div>
  );
}
