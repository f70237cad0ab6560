// Typed client for the tracker's /api/v1 (relative URLs: works at "/" and under a mount prefix).

export type AppStatus = "empty" | "running" | "completed" | "failed";
export type StepStatus = "running" | "completed" | "failed";

export interface Pointer {
  app_id: string;
  sequence_id: number | null;
  partition_key: string | null;
}

export interface Project {
  name: string;
  num_apps: number;
  num_failed: number;
  num_running: number;
  created: string | null;
  last_written: string | null;
}

export interface AppSummary {
  project: string;
  app_id: string;
  partition_key: string | null;
  created: string | null;
  first_written: string | null;
  last_written: string | null;
  num_steps: number;
  last_sequence_id: number | null;
  last_action: string | null;
  status: AppStatus;
  parent_pointer: Pointer | null;
  spawning_parent_pointer: Pointer | null;
  num_children: number;
  num_warnings: number;
  num_annotations: number;
}

export interface AppPage {
  apps: AppSummary[];
  total: number;
  offset: number;
  limit: number;
  next_cursor: string | null;
}

export interface ChildLink {
  app_id: string;
  partition_key: string | null;
  event_type: string | null;
  sequence_id: number | null;
  event_time: string | null;
}

export interface GraphAction {
  name: string;
  reads: string[];
  writes: string[];
  code: string;
  inputs: string[];
  optional_inputs: string[];
}

export interface GraphModel {
  entrypoint: string;
  actions: GraphAction[];
  transitions: { from_: string; to: string; condition: string }[];
}

export interface AppDetail extends AppSummary {
  graph: GraphModel | null;
  children: ChildLink[];
  lineage: Pointer[];
  forks: ChildLink[];
  warnings: string[];
  pending_bytes: number;
  node_stats: { action: string; visits: number; failures: number; mean_ms: number | null }[];
  edge_stats: { from_: string | null; to: string; count: number }[];
  format: number;
}

export interface StreamTiming {
  start: string | null;
  first_item: string | null;
  end: string | null;
  items: number | null;
  ttft_ms: number | null;
  items_per_second: number | null;
}

export interface StepSummary {
  sequence_id: number;
  action: string;
  start_time: string | null;
  end_time: string | null;
  duration_ms: number | null;
  status: StepStatus;
  error: string | null;
  num_spans: number;
  num_attributes: number;
  num_children: number;
  attempts: number;
  stream: StreamTiming | null;
}

export interface StepPage {
  steps: StepSummary[];
  total: number;
  offset: number;
  limit: number;
}

export interface Span {
  span_id: string;
  name: string;
  parent_span_id: string | null;
  depth: number;
  start_time: string | null;
  end_time: string | null;
  duration_ms: number | null;
}

export interface Attribute {
  key: string;
  span_id: string | null;
  value: unknown;
  tags: Record<string, unknown>;
  time_logged: string | null;
}

export interface StepDetail extends StepSummary {
  position: number;
  inputs: Record<string, unknown> | null;
  result: unknown;
  exception: string | null;
  state: Record<string, unknown> | null;
  state_before: Record<string, unknown> | null;
  state_before_source: string | null;
  spans: Span[];
  attributes: Attribute[];
  transition: Record<string, unknown> | null;
  attempt_history: {
    attempt: number | null;
    end_time: string | null;
    error: string | null;
    // newer servers may add these; the UI derives what it can without them
    start_time?: string | null;
    duration_ms?: number | null;
    will_retry?: boolean | null;
  }[];
  children: ChildLink[];
  warnings: string[];
}

export interface Observation {
  data_fields: { note?: string; ground_truth?: string; [k: string]: unknown };
  thumbs_up_thumbs_down: boolean | null;
  data_pointers: Record<string, unknown>[];
}

export interface Annotation {
  id: number;
  project_id: string;
  app_id: string;
  partition_key: string | null;
  step_sequence_id: number;
  span_id: string | null;
  step_name: string;
  tags: string[];
  observations: Observation[];
  created: string;
  updated: string;
}

export interface Version {
  version: string;
  api: string;
  read_only: boolean;
  auth: boolean;
  storage_dir: string;
  default_storage_dir: boolean;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "burr_token";

export function getToken(): string | null {
  return window.localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) window.localStorage.setItem(TOKEN_KEY, token);
  else window.localStorage.removeItem(TOKEN_KEY);
}

const enc = encodeURIComponent;

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (init?.body) headers["Content-Type"] = "application/json";
  const res = await fetch(`api/v1/${path}`, { ...init, headers });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && typeof body.error === "string") message = body.error;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

export const api = {
  version: () => request<Version>("version"),
  projects: () => request<{ projects: Project[] }>("projects"),
  apps: (
    project: string,
    params: {
      q?: string;
      status?: string;
      since?: string;
      parent?: string;
      top_level?: boolean;
      sort?: string;
      order?: string;
      limit?: number;
      offset?: number;
    },
  ) => request<AppPage>(`projects/${enc(project)}/apps${qs(params)}`),
  app: (project: string, appId: string) => request<AppDetail>(`projects/${enc(project)}/apps/${enc(appId)}`),
  steps: (project: string, appId: string, offset: number, limit: number) =>
    request<StepPage>(`projects/${enc(project)}/apps/${enc(appId)}/steps${qs({ offset, limit })}`),
  timeline: (project: string, appId: string, buckets: number) =>
    request<{
      start: string | null;
      end: string | null;
      bucket_ms?: number | null;
      buckets: { index: number; start: string | null; steps: number; failed: number; running: number; first_sequence_id: number; busy_ms: number }[];
    }>(`projects/${enc(project)}/apps/${enc(appId)}/timeline${qs({ buckets })}`),
  nextFailure: async (project: string, appId: string, after: number) => {
    const page = await request<StepPage>(
      `projects/${enc(project)}/apps/${enc(appId)}/steps${qs({ after_sequence_id: after, limit: 1, status: "failed" })}`,
    );
    return page.steps[0] ?? null;
  },
  neighbor: async (project: string, appId: string, seq: number, dir: "next" | "prev") => {
    const page = await request<StepPage>(
      `projects/${enc(project)}/apps/${enc(appId)}/steps${qs({ after_sequence_id: seq, limit: 1, order: dir === "next" ? "asc" : "desc" })}`,
    );
    return page.steps[0] ?? null;
  },
  step: (project: string, appId: string, seq: number) =>
    request<StepDetail>(`projects/${enc(project)}/apps/${enc(appId)}/steps/${seq}`),
  annotations: (project: string, appId?: string) =>
    appId
      ? request<{ annotations: Annotation[] }>(`projects/${enc(project)}/apps/${enc(appId)}/annotations`)
      : request<{ annotations: Annotation[] }>(`projects/${enc(project)}/annotations`),
  createAnnotation: (
    project: string,
    appId: string,
    seq: number,
    body: { step_name: string; tags: string[]; observations: Observation[]; span_id?: string | null },
  ) =>
    request<Annotation>(`projects/${enc(project)}/apps/${enc(appId)}/steps/${seq}/annotations`, {
      method: "POST",
      body: JSON.stringify(body),
    }),
  updateAnnotation: (project: string, id: number, body: { tags?: string[]; observations?: Observation[] }) =>
    request<Annotation>(`projects/${enc(project)}/annotations/${id}`, { method: "PUT", body: JSON.stringify(body) }),
  exportUrl: (project: string) => {
    const token = getToken();
    return `api/v1/projects/${enc(project)}/annotations/export${token ? qs({ token }) : ""}`;
  },
};

export interface LiveEvent {
  kind: "app" | "step" | "annotation" | "reset";
  data: Record<string, unknown>;
}

/** Subscribe to server-sent events; the browser resumes with Last-Event-ID on reconnect. */
export function subscribe(
  scope: { project?: string; app_id?: string; kind?: "app" | "step" | "annotation" },
  onEvent: (e: LiveEvent) => void,
): () => void {
  const token = getToken();
  const url = `api/v1/events${qs({ project: scope.project, app_id: scope.app_id, kind: scope.kind, token })}`;
  const source = new EventSource(url);
  for (const kind of ["app", "step", "annotation", "reset"] as const) {
    source.addEventListener(kind, (ev) => {
      const msg = ev as MessageEvent<string>;
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(msg.data);
      } catch {
        /* ignore malformed */
      }
      onEvent({ kind, data });
    });
  }
  return () => source.close();
}
