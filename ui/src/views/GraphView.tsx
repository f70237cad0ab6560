// A small layered layout of the application graph, drawn as SVG (no layout library needed).
import { useMemo } from "react";
import type { AppDetail } from "../api";
import { conditionLabel, exceptionTypes, isErrorCondition, type Route } from "../lib/errors";

const W = 150;
const H = 34;
const GAP_X = 40;
const GAP_Y = 64;

interface Placed {
  name: string;
  x: number;
  y: number;
  rank: number;
}


function layout(app: AppDetail): { nodes: Map<string, Placed>; width: number; height: number } {
  const graph = app.graph!;
  const names = graph.actions.map((a) => a.name);
  const out = new Map<string, string[]>();
  for (const t of graph.transitions) out.set(t.from_, [...(out.get(t.from_) ?? []), t.to]);
  const rank = new Map<string, number>();
  const queue = [graph.entrypoint];
  rank.set(graph.entrypoint, 0);
  while (queue.length) {
    const n = queue.shift()!;
    for (const m of out.get(n) ?? []) {
      if (!rank.has(m)) {
        rank.set(m, rank.get(n)! + 1);
        queue.push(m);
      }
    }
  }
  let maxRank = Math.max(0, ...rank.values());
  for (const n of names) if (!rank.has(n)) rank.set(n, ++maxRank);
  const rows: string[][] = [];
  for (const n of names) {
    const r = rank.get(n)!;
    (rows[r] ??= []).push(n);
  }
  const widest = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  const width = widest * (W + GAP_X) + 120;
  const nodes = new Map<string, Placed>();
  rows.forEach((row, r) => {
    const rowWidth = row.length * (W + GAP_X) - GAP_X;
    row.forEach((n, i) => {
      nodes.set(n, { name: n, rank: r, x: (width - 120 - rowWidth) / 2 + i * (W + GAP_X) + 20, y: 20 + r * (H + GAP_Y) });
    });
  });
  return { nodes, width, height: rows.length * (H + GAP_Y) + 20 };
}

export function GraphView({
  app,
  current,
  taken,
  onSelectAction,
}: {
  app: AppDetail;
  current: string | null;
  taken?: Route | null;
  onSelectAction?: (a: string) => void;
}) {
  const placed = useMemo(() => (app.graph ? layout(app) : null), [app]);
  if (!app.graph || !placed) return <div className="muted pad">no graph recorded for this app</div>;
  const visits = new Map(app.node_stats.map((n) => [n.action, n]));
  const edgeCounts = new Map(app.edge_stats.map((e) => [`${e.from_ ?? ""}→${e.to}`, e.count]));
  const { nodes, width, height } = placed;
  const transitions = app.graph.transitions;
  // the one edge the selected step took (an error route and a normal edge may join the same nodes)
  const takenIndex = taken
    ? (() => {
        const same = transitions.map((t, i) => [t, i] as const).filter(([t]) => t.from_ === taken.from && t.to === taken.to);
        return (same.find(([t]) => t.condition === taken.condition) ?? same.find(([t]) => isErrorCondition(t.condition) === taken.error) ?? same[0])?.[1] ?? -1;
      })()
    : -1;
  return (
    <svg className="graph" viewBox={`0 0 ${width} ${height}`} width="100%" style={{ maxHeight: Math.max(height, 120) }} data-testid="graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6" />
        </marker>
        <marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#e07b00" />
        </marker>
        <marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#2d5bd7" />
        </marker>
        <marker id="arrow-error" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#d64545" />
        </marker>
      </defs>
      {transitions.map((t, i) => {
        const a = nodes.get(t.from_);
        const b = nodes.get(t.to);
        if (!a || !b) return null;
        const count = edgeCounts.get(`${t.from_}→${t.to}`) ?? 0;
        const hot = count > 0;
        const isTaken = i === takenIndex;
        const isError = isErrorCondition(t.condition);
        let d: string;
        let lx: number;
        let ly: number;
        let anchor: "middle" | "start" | "end" = "middle";
        if (a === b) {
          const x = a.x + W;
          const y = a.y + H / 2;
          d = `M ${x} ${y - 8} C ${x + 40} ${y - 30}, ${x + 40} ${y + 30}, ${x} ${y + 8}`;
          lx = x + 36 + conditionLabel(t.condition).length * 2.6;
          ly = y + 4;
        } else if (b.rank > a.rank) {
          const x1 = a.x + W / 2;
          const y1 = a.y + H;
          const x2 = b.x + W / 2;
          const y2 = b.y;
          d = `M ${x1} ${y1} C ${x1} ${y1 + 30}, ${x2} ${y2 - 30}, ${x2} ${y2}`;
          lx = (x1 + x2) / 2;
          ly = (y1 + y2) / 2;
          // edges fanning out of one node: label each on its own side so the labels don't collide
          if (Math.abs(x2 - x1) > 5) {
            anchor = x2 > x1 ? "start" : "end";
            lx += x2 > x1 ? 4 : -4;
          }
        } else {
          const x1 = a.x;
          const y1 = a.y + H / 2;
          const x2 = b.x;
          const y2 = b.y + H / 2;
          const bend = Math.min(a.x, b.x) - 50 - 10 * (i % 3);
          d = `M ${x1} ${y1} C ${bend} ${y1}, ${bend} ${y2}, ${x2} ${y2}`;
          lx = bend + 12;
          ly = (y1 + y2) / 2;
        }
        const label = [conditionLabel(t.condition), hot ? `×${count}` : ""]
          .filter(Boolean)
          .join("  ");
        return (
          <g
            key={i}
            className={`edge ${isError ? "error" : ""} ${hot ? "hot" : ""} ${isTaken ? "taken" : ""}`}
            data-testid={isTaken ? "edge-taken" : "edge"}
            data-from={t.from_}
            data-to={t.to}
          >
            <title>
              {isError
                ? `error route: taken when ${t.from_} raises ${exceptionTypes(t.condition).join(" or ") || "an exception"} (after its retries)`
                : `${t.from_} → ${t.to}${t.condition && t.condition !== "default" ? ` when ${t.condition}` : ""}`}
              {hot ? `\ntaken ${count}×` : ""}
            </title>
            {isTaken && isError && <path d={d} fill="none" className="halo" />}
            <path
              d={d}
              fill="none"
              markerEnd={isError ? "url(#arrow-error)" : isTaken ? "url(#arrow-taken)" : hot ? "url(#arrow-hot)" : "url(#arrow)"}
            />
            {label && (
              <text x={lx} y={ly} className="edge-label" textAnchor={anchor}>
                {label}
              </text>
            )}
          </g>
        );
      })}
      {[...nodes.values()].map((n) => {
        const v = visits.get(n.name);
        const cls = ["node", n.name === current ? "current" : "", v ? "visited" : "", v && v.failures ? "failed" : ""].join(" ");
        return (
          <g key={n.name} className={cls} transform={`translate(${n.x},${n.y})`} onClick={() => onSelectAction?.(n.name)} data-testid={`node-${n.name}`}>
            <rect width={W} height={H} rx={6} />
            <text x={W / 2} y={H / 2 + 4} textAnchor="middle">
              {n.name.length > 18 ? n.name.slice(0, 17) + "…" : n.name}
            </text>
            {v && (
              <g transform={`translate(${W - 6},-6)`}>
                <circle r={10} className="badge" />
                <text textAnchor="middle" y={4} className="badge-text">
                  {v.visits > 999 ? "1k+" : v.visits}
                </text>
              </g>
            )}
            <title>
              {n.name}
              {v ? `\nvisits: ${v.visits}\nfailures: ${v.failures}\nmean: ${v.mean_ms?.toFixed(2) ?? "–"} ms` : "\nnot visited"}
            </title>
          </g>
        );
      })}
    </svg>
  );
}
