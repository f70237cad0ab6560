import { useState } from "react";

const MAX_STRING = 2000;

function Str({ value }: { value: string }) {
  const [full, setFull] = useState(false);
  if (value.length <= MAX_STRING || full) return <span className="j-str">{JSON.stringify(value)}</span>;
  return (
    <span className="j-str">
      {JSON.stringify(value.slice(0, MAX_STRING))}
      <button className="link" onClick={() => setFull(true)}>
        … show all {value.length.toLocaleString()} chars
      </button>
    </span>
  );
}

function Special({ value }: { value: Record<string, unknown> }) {
  if (value.__burr_redacted__) return <span className="j-special">‹redacted›</span>;
  if (value.__burr_truncated__)
    return (
      <span className="j-special" title={`${value.type}, ${value.size} bytes`}>
        ‹truncated {String(value.type)} {String(value.size)} bytes›: {String(value.preview)}
      </span>
    );
  return <span className="j-special">‹unserializable {String(value.type)}›: {String(value.repr)}</span>;
}

export function JsonView({ value, depth = 0, name }: { value: unknown; depth?: number; name?: string }) {
  const [open, setOpen] = useState(depth < 2);
  const label = name !== undefined ? <span className="j-key">{name}: </span> : null;
  if (value === null || typeof value !== "object") {
    let body;
    if (typeof value === "string") body = <Str value={value} />;
    else if (typeof value === "number") body = <span className="j-num">{String(value)}</span>;
    else if (typeof value === "boolean") body = <span className="j-bool">{String(value)}</span>;
    else body = <span className="j-null">null</span>;
    return (
      <div className="j-line">
        {label}
        {body}
      </div>
    );
  }
  const obj = value as Record<string, unknown>;
  if (!Array.isArray(obj) && (obj.__burr_redacted__ || obj.__burr_truncated__ || obj.__burr_unserializable__))
    return (
      <div className="j-line">
        {label}
        <Special value={obj} />
      </div>
    );
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const brackets = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0)
    return (
      <div className="j-line">
        {label}
        <span className="j-punct">{brackets.join("")}</span>
      </div>
    );
  return (
    <div className="j-node">
      <div className="j-line j-toggle" onClick={() => setOpen(!open)}>
        <span className="j-caret">{open ? "▾" : "▸"}</span>
        {label}
        <span className="j-punct">
          {brackets[0]}
          {!open && ` ${entries.length} ${Array.isArray(value) ? "items" : "keys"} ${brackets[1]}`}
        </span>
      </div>
      {open && (
        <div className="j-children">
          {entries.slice(0, 500).map(([k, v]) => (
            <JsonView key={k} name={k} value={v} depth={depth + 1} />
          ))}
          {entries.length > 500 && <div className="muted">… {entries.length - 500} more</div>}
          <div className="j-punct">{brackets[1]}</div>
        </div>
      )}
    </div>
  );
}

export function Inline({ value }: { value: unknown }) {
  const text = JSON.stringify(value);
  return <code className="inline-json">{text && text.length > 200 ? text.slice(0, 200) + "…" : text}</code>;
}
