"""Hook registration and dispatch. The engine emits hook events; this module calls the adapters."""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, TypeVar

logger = logging.getLogger(__name__)

SYNC_HOOK = "hooks"
ASYNC_HOOK = "async_hooks"

REGISTERED_SYNC_HOOKS: set[str] = set()
REGISTERED_ASYNC_HOOKS: set[str] = set()

T = TypeVar("T", bound=type)


class InvalidLifecycleHook(Exception):
    """A hook base class declares its method with the wrong shape."""


def validate_hook_fn(fn: Callable[..., Any]) -> None:
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
        raise InvalidLifecycleHook(f"Lifecycle hook {fn.__qualname__} must accept **future_kwargs.")
    for p in params[1:]:
        if p.kind not in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD):
            raise InvalidLifecycleHook(
                f"Lifecycle hook {fn.__qualname__}: parameter `{p.name}` must be keyword-only (put it after `*`)."
            )


class lifecycle:
    """``@lifecycle.base_hook("post_run_step")`` marks a class as the base for that hook."""

    @classmethod
    def _register(cls, hook_name: str, kind: str, registry: set[str]) -> Callable[[T], T]:
        def decorator(clazz: T) -> T:
            fn = getattr(clazz, hook_name, None)
            if fn is None:
                raise InvalidLifecycleHook(f"{clazz.__name__} does not define the hook method `{hook_name}`.")
            validate_hook_fn(fn)
            registry.add(hook_name)
            setattr(clazz, kind, [hook_name])
            return clazz

        return decorator

    @classmethod
    def base_hook(cls, hook_name: str) -> Callable[[T], T]:
        return cls._register(hook_name, SYNC_HOOK, REGISTERED_SYNC_HOOKS)

    @classmethod
    def base_hook_async(cls, hook_name: str) -> Callable[[T], T]:
        return cls._register(hook_name, ASYNC_HOOK, REGISTERED_ASYNC_HOOKS)


def _hooks_of(adapter: Any, kind: str) -> list[str]:
    registry = REGISTERED_SYNC_HOOKS if kind == SYNC_HOOK else REGISTERED_ASYNC_HOOKS
    names: list[str] = []
    for clazz in type(adapter).__mro__:
        for name in clazz.__dict__.get(kind, ()):
            if isinstance(name, str) and name in registry and name not in names:
                names.append(name)
    return names


class LifecycleAdapterSet:
    """The ordered hooks of one application, indexed by hook name."""

    def __init__(self, *adapters: Any) -> None:
        self._adapters = list(adapters)
        self.sync_hooks: dict[str, list[Callable[..., Any]]] = {}
        self.async_hooks: dict[str, list[Callable[..., Any]]] = {}
        for adapter in self._adapters:
            for name in _hooks_of(adapter, SYNC_HOOK):
                self.sync_hooks.setdefault(name, []).append(getattr(adapter, name))
            for name in _hooks_of(adapter, ASYNC_HOOK):
                self.async_hooks.setdefault(name, []).append(getattr(adapter, name))

    @property
    def adapters(self) -> list[Any]:
        return list(self._adapters)

    def with_new_adapters(self, *adapters: Any) -> LifecycleAdapterSet:
        return LifecycleAdapterSet(*self._adapters, *adapters)

    def _check(self, hook_name: str, registry: set[str]) -> None:
        if hook_name not in registry:
            raise ValueError(
                f"Hook {hook_name} is not registered as a lifecycle hook. Registered hooks are {sorted(registry)}."
            )

    def call_all_lifecycle_hooks_sync(self, hook_name: str, **kwargs: Any) -> None:
        hooks = self.sync_hooks.get(hook_name)
        if hooks is None:
            self._check(hook_name, REGISTERED_SYNC_HOOKS)
            return
        for hook in hooks:
            hook(**kwargs)

    async def call_all_lifecycle_hooks_async(self, hook_name: str, **kwargs: Any) -> None:
        hooks = self.async_hooks.get(hook_name)
        if hooks is None:
            self._check(hook_name, REGISTERED_ASYNC_HOOKS)
            return
        if len(hooks) == 1:
            await hooks[0](**kwargs)
        else:
            import asyncio  # lazy: `import burr.core` must not pay for asyncio

            await asyncio.gather(*(hook(**kwargs) for hook in hooks))

    async def call_all_lifecycle_hooks_sync_and_async(self, hook_name: str, **kwargs: Any) -> None:
        self.call_all_lifecycle_hooks_sync(hook_name, **kwargs)
        if self.async_hooks.get(hook_name):
            await self.call_all_lifecycle_hooks_async(hook_name, **kwargs)
