export function ago(iso: string | null): string {
  if (!iso) return "–";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 5) return "just now";
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(iso).toLocaleDateString();
}

export function dateTime(iso: string | null): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 1000) return `${v.toFixed(1)} ms`;
  if (v < 60000) return `${(v / 1000).toFixed(2)} s`;
  return `${(v / 60000).toFixed(1)} min`;
}

export function short(id: string, n = 24): string {
  return id.length > n ? `${id.slice(0, n - 6)}…${id.slice(-5)}` : id;
}

/** Epoch milliseconds with the microseconds Date.parse drops (steps are often sub-millisecond). */
export function epochMs(iso: string | null): number | null {
  if (!iso) return null;
  const m = /\.(\d+)/.exec(iso);
  if (!m) return Date.parse(iso);
  const whole = Date.parse(iso.replace(/\.\d+/, ""));
  return whole + Number(`0.${m[1]}`) * 1000;
}
