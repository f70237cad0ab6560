"""A pluggable chat model: an OpenAI-compatible HTTP API when a key is set, an offline responder otherwise.

Both expose ``complete(messages) -> str`` and ``stream(messages) -> Iterator[str]`` where
``messages`` is the usual ``[{"role": "user"|"assistant"|"system", "content": "..."}]`` list.
Set ``OPENAI_API_KEY`` (and optionally ``OPENAI_BASE_URL``, ``OPENAI_MODEL``) to use a real model;
anything speaking the ``/chat/completions`` protocol works (OpenAI, vLLM, llama.cpp, Ollama...).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Callable, Protocol

Message = dict[str, str]


class ChatModel(Protocol):
    def complete(self, messages: list[Message]) -> str: ...

    def stream(self, messages: list[Message]) -> Iterator[str]: ...


class OpenAICompatibleClient:
    """Minimal ``/chat/completions`` client over httpx (no SDK needed)."""

    def __init__(self, api_key: str, base_url: str | None = None, model: str | None = None) -> None:
        self.api_key = api_key
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip(
            "/"
        )
        self.model = model or os.environ.get("OPENAI_MODEL") or "gpt-4o-mini"

    def _request(self, messages: list[Message], stream: bool) -> dict[str, object]:
        return {"model": self.model, "messages": messages, "stream": stream}

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def complete(self, messages: list[Message]) -> str:
        import httpx

        response = httpx.post(
            f"{self.base_url}/chat/completions",
            json=self._request(messages, False),
            headers=self._headers(),
            timeout=60,
        )
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    def stream(self, messages: list[Message]) -> Iterator[str]:
        import httpx

        with httpx.stream(
            "POST",
            f"{self.base_url}/chat/completions",
            json=self._request(messages, True),
            headers=self._headers(),
            timeout=60,
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                delta = json.loads(line[len("data: ") :])["choices"][0].get("delta", {})
                if delta.get("content"):
                    yield delta["content"]


def _default_rule(messages: list[Message]) -> str:
    user_turns = [m["content"] for m in messages if m["role"] == "user"]
    last = user_turns[-1] if user_turns else ""
    lowered = last.lower()
    if re.search(r"\b(hi|hello|hey)\b", lowered):
        return "Hello! I am the offline demo model. Ask me anything."
    if "how many" in lowered and "message" in lowered:
        return f"You have sent me {len(user_turns)} messages so far."
    if lowered.endswith("?"):
        return f"Good question. Offline, I can only reflect it back: {last}"
    return f"You said: {last} (message #{len(user_turns)})"


class OfflineChatModel:
    """Deterministic stand-in for an LLM: same conversation in, same reply out."""

    def __init__(self, rule: Callable[[list[Message]], str] = _default_rule) -> None:
        self.rule = rule

    def complete(self, messages: list[Message]) -> str:
        return self.rule(messages)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        words = self.rule(messages).split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "


def default_model(rule: Callable[[list[Message]], str] = _default_rule) -> ChatModel:
    """The real model when ``OPENAI_API_KEY`` is set, else the offline responder."""
    key = os.environ.get("OPENAI_API_KEY")
    return OpenAICompatibleClient(key) if key else OfflineChatModel(rule)
