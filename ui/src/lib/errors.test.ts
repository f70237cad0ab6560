import { describe, expect, it } from "vitest";
import type { GraphModel } from "../api";
import { attemptRows, conditionLabel, exceptionTypes, isErrorCondition, resolveRoute } from "./errors";
import { epochMs } from "./format";

const graph: GraphModel = {
  entrypoint: "draft",
  actions: [],
  transitions: [
    { from_: "draft", to: "apologize", condition: "on_exception(ConnectionError, TimeoutError)" },
    { from_: "draft", to: "review", condition: "default" },
  ],
};

describe("error conditions", () => {
  it("recognises on_exception conditions only", () => {
    expect([isErrorCondition("on_exception(ValueError)"), isErrorCondition("default"), isErrorCondition("x == 1")]).toEqual([true, false, false]);
  });

  it("lists the exception types of an error route", () => {
    expect(exceptionTypes("on_exception(RateLimited, TimeoutError)")).toEqual(["RateLimited", "TimeoutError"]);
  });

  it("labels an error route by its exception types", () => {
    expect(conditionLabel("on_exception(RateLimited, TimeoutError)")).toBe("⚠ RateLimited, TimeoutError");
  });
});

describe("resolveRoute", () => {
  it("puts a failed step followed by a step on the error route", () => {
    const r = resolveRoute(graph, { action: "draft", status: "failed", transition: null }, "apologize");
    expect(r).toEqual({ from: "draft", to: "apologize", condition: "on_exception(ConnectionError, TimeoutError)", error: true, implied: true });
  });

  it("gives a failed last step no route", () => {
    expect(resolveRoute(graph, { action: "draft", status: "failed", transition: null }, null)).toBeNull();
  });

  it("skips error routes when a completed step's transition was implied", () => {
    const implied = { from_: "draft", to: "apologize", implied: true };
    const r = resolveRoute(graph, { action: "draft", status: "completed", transition: implied }, "review");
    expect(r?.to).toBe("review");
  });

  it("trusts a logged transition record", () => {
    const rec = { from_: "draft", to: "review", evaluated: [] };
    expect(resolveRoute(graph, { action: "draft", status: "completed", transition: rec }, "apologize")?.condition).toBe("default");
  });
});

describe("attemptRows", () => {
  it("marks earlier failures retried, the last one failed, with the first attempt's duration", () => {
    const rows = attemptRows(
      {
        start_time: "2026-01-01T00:00:00.000000+00:00",
        attempt_history: [
          { attempt: 1, end_time: "2026-01-01T00:00:00.004000+00:00", error: "E: one" },
          { attempt: 2, end_time: "2026-01-01T00:00:00.050000+00:00", error: "E: two" },
        ],
      },
      epochMs,
    );
    expect(rows.map((r) => [r.attempt, r.outcome, r.durationMs, r.endedAt])).toEqual([
      [1, "retried", 4, 4],
      [2, "failed", null, 50],
    ]);
  });

  it("uses an attempt's start time when the server reports it", () => {
    const rows = attemptRows(
      {
        start_time: "2026-01-01T00:00:00.000000+00:00",
        attempt_history: [
          { attempt: 1, end_time: "2026-01-01T00:00:00.004000+00:00", error: "E: one", will_retry: true },
          { attempt: 2, start_time: "2026-01-01T00:00:00.040000+00:00", end_time: "2026-01-01T00:00:00.050000+00:00", error: null },
        ],
      },
      epochMs,
    );
    expect(rows.map((r) => [r.outcome, r.durationMs])).toEqual([
      ["retried", 4],
      ["ok", 10],
    ]);
  });
});
