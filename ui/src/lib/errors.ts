// Error routes (on_exception transitions) and retry attempts, derived from what the API returns.
import type { GraphModel, StepDetail } from "../api";

const PREFIX = "on_exception(";

/** Whether a transition condition is an error route (`on_exception(...)`). */
export function isErrorCondition(condition: string | null | undefined): boolean {
  return typeof condition === "string" && condition.startsWith(PREFIX);
}

/** The exception types an error route handles, e.g. ["RateLimited", "TimeoutError"]. */
export function exceptionTypes(condition: string): string[] {
  if (!isErrorCondition(condition)) return [];
  const inner = condition.slice(PREFIX.length, condition.endsWith(")") ? -1 : undefined);
  return inner
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A short edge label for a transition condition ("" for the default transition). */
export function conditionLabel(condition: string): string {
  if (isErrorCondition(condition)) {
    const types = exceptionTypes(condition);
    return `⚠ ${types.length ? types.join(", ") : "any exception"}`;
  }
  return condition && condition !== "default" ? condition : "";
}

export interface Route {
  from: string;
  to: string;
  condition: string;
  error: boolean;
  /** not logged: the action's first applicable transition fired (read from graph.json) */
  implied: boolean;
}

/**
 * The transition a step took. A logged, non-implied transition record is authoritative. Otherwise
 * the tracker left the record out because the first applicable transition fired: for a completed
 * step the first non-error one, for a failed step the first error route. `nextAction` (the action of
 * the following step, when there is one) confirms which one: a failed step only took an error route
 * if a later step exists.
 */
export function resolveRoute(
  graph: GraphModel | null,
  step: Pick<StepDetail, "action" | "status" | "transition">,
  nextAction: string | null,
): Route | null {
  const failed = step.status === "failed";
  const rec = step.transition;
  const out = (graph?.transitions ?? []).filter((t) => t.from_ === step.action);
  if (rec && !rec.implied) {
    if (typeof rec.to !== "string") return null;
    const to = rec.to;
    const match =
      out.find((t) => t.to === to && isErrorCondition(t.condition) === failed) ?? out.find((t) => t.to === to);
    const condition = match?.condition ?? "";
    return { from: step.action, to, condition, error: isErrorCondition(condition), implied: false };
  }
  if (nextAction === null) return null; // the last step (or still running): no transition yet
  const applicable = out.filter((t) => isErrorCondition(t.condition) === failed);
  const t = applicable.find((c) => c.to === nextAction) ?? (!failed && rec ? applicable[0] : undefined);
  if (!t) return null;
  return { from: step.action, to: t.to, condition: t.condition, error: failed, implied: true };
}

export interface AttemptRow {
  attempt: number;
  outcome: "ok" | "retried" | "failed";
  error: string | null;
  /** ms from the step's start to the end of this attempt */
  endedAt: number | null;
  /** the attempt's own run time, when its start is known */
  durationMs: number | null;
}

type AttemptRecord = StepDetail["attempt_history"][number];

/** One row per attempt of a retried step, oldest first. */
export function attemptRows(step: Pick<StepDetail, "start_time" | "attempt_history">, toMs: (iso: string | null) => number | null): AttemptRow[] {
  const start = toMs(step.start_time);
  const history = step.attempt_history;
  return history.map((a: AttemptRecord, i) => {
    const end = toMs(a.end_time);
    const last = i === history.length - 1;
    const retried = a.will_retry ?? !last;
    // the first attempt starts with the step; later ones after a backoff the API may not report
    const began = a.start_time !== undefined ? toMs(a.start_time ?? null) : i === 0 ? start : null;
    let durationMs: number | null = typeof a.duration_ms === "number" ? a.duration_ms : null;
    if (durationMs === null && began !== null && end !== null) durationMs = Math.max(0, end - began);
    return {
      attempt: a.attempt ?? i + 1,
      outcome: a.error ? (retried ? "retried" : "failed") : "ok",
      error: a.error,
      endedAt: start !== null && end !== null ? Math.max(0, end - start) : null,
      durationMs,
    };
  });
}
