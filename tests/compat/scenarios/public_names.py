"""Public import paths and names (spec section 1): which exist, and what kind of object they are."""

import importlib
import inspect

from _compat import Out

out = Out()

NAMES = {
    "burr.core": "action Action Application ApplicationBuilder ApplicationGraph ApplicationContext Condition default expr Result State when Graph GraphBuilder safe_expr type_eraser persistence serde state",
    "burr.core.action": "Function Reducer Action Condition Result Input SingleStepAction StreamingAction AsyncStreamingAction SingleStepStreamingAction FunctionBasedAction FunctionBasedStreamingAction action streaming_action bind create_action StreamingResultContainer AsyncStreamingResultContainer DEFAULT_SCHEMA DefaultSchema default expr when type_eraser",
    "burr.core.state": "State SetFields AppendFields ExtendFields IncrementFields DeleteField StateDelta register_field_serde FIELD_SERIALIZATION",
    "burr.core.application": "Application ApplicationBuilder ApplicationContext ApplicationGraph ApplicationIdentifiers PRIOR_STEP SEQUENCE_ID",
    "burr.core.graph": "Transition Graph GraphBuilder",
    "burr.core.persistence": "PersistedStateData BaseStateLoader BaseStateSaver BaseStatePersister AsyncBaseStateLoader AsyncBaseStateSaver AsyncBaseStatePersister PersisterHook PersisterHookAsync DevNullPersister AsyncDevNullPersister SQLitePersister SQLLitePersister InMemoryPersister AsyncInMemoryPersister",
    "burr.core.parallelism": "RunnableGraph SubGraphTask TaskBasedParallelAction MapActionsAndStates MapActions MapStates PassThroughMapActionsAndStates map_reduce_action SubgraphType",
    "burr.core.serde": "KEY StringDispatch deserializer serialize deserialize",
    "burr.core.typing": "TypingSystem ActionSchema DictBasedTypingSystem",
    "burr.core.validation": "BASE_ERROR_MESSAGE assert_set",
    "burr.core.implementations": "Placeholder",
    "burr.common.types": "ParentPointer BaseCopyable",
    "burr.common.async_utils": "asyncify_generator arealize",
    "burr.lifecycle": "PreRunStepHook PreRunStepHookAsync PostRunStepHook PostRunStepHookAsync PreApplicationExecuteCallHook PreApplicationExecuteCallHookAsync PostApplicationExecuteCallHook PostApplicationExecuteCallHookAsync LifecycleAdapter StateAndResultsFullLogger PostApplicationCreateHook PostEndSpanHook PreStartSpanHook",
    "burr.lifecycle.base": "ExecuteMethod LifecycleAdapter PreStartStreamHook PostStreamItemHook PostEndStreamHook DoLogAttributeHook PreStartStreamHookAsync PostStreamItemHookAsync PostEndStreamHookAsync DoLogAttributeHookAsync PreStartSpanHookAsync PostEndSpanHookAsync",
    "burr.lifecycle.internal": "lifecycle LifecycleAdapterSet InvalidLifecycleHook",
    "burr.lifecycle.default": "StateAndResultsFullLogger SlowDownHook",
    "burr.visibility": "TracerFactory ActionSpan ActionSpanTracer trace",
    "burr.visibility.tracing": "execution_context_var tracer_factory_context_var create_span_id TracerFactory ActionSpan ActionSpanTracer trace",
    "burr.tracking": "LocalTrackingClient",
    "burr.tracking.base": "SyncTrackingClient TrackingClient",
    "burr.tracking.client": "LocalTrackingClient _allowed_project_name StreamState",
    "burr.tracking.utils": "safe_json_load",
    "burr.integrations.base": "require_plugin",
    "burr.system": "IS_WINDOWS now",
    "burr.version": "__version__",
    "burr.telemetry": "disable_telemetry is_telemetry_enabled",
    "burr.log_setup": "setup_logging LOG_LEVELS",
    "burr.testing": "load_test_cases pytest_generate_tests",
}


def kind(obj):
    if inspect.isclass(obj):
        return "class"
    if inspect.ismodule(obj):
        return "module"
    if callable(obj):
        return "callable"
    return type(obj).__name__


for mod_name, names in NAMES.items():
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # noqa: BLE001
        out(mod_name, f"import failed: {type(e).__name__}")
        continue
    out(mod_name, {n: kind(getattr(mod, n)) if hasattr(mod, n) else None for n in names.split()})

from burr.core.application import PRIOR_STEP, SEQUENCE_ID  # noqa: E402

out("constants", [PRIOR_STEP, SEQUENCE_ID])
from burr.tracking import client  # noqa: E402
from burr.tracking.client import LocalTrackingClient  # noqa: E402

out(
    "tracking.class_constants",
    [
        getattr(LocalTrackingClient, n, None)
        for n in (
            "GRAPH_FILENAME",
            "METADATA_FILENAME",
            "LOG_FILENAME",
            "CHILDREN_FILENAME",
            "DEFAULT_STORAGE_DIR",
        )
    ],
)

out(
    "project_names", [client._allowed_project_name(n, False) for n in ("ok-name_1", "a:b", "bad name", "x/y")]
)
out.dump()
