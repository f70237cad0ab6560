"""The FastAPI app: Burr's serving routes for the chatbot plus a one-page chat UI."""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from burr.core.persistence import SQLitePersister
from burr.integrations.fastapi import add_application_routes

try:
    from ..llm import ChatModel
    from .application import definition
except ImportError:  # run as a script: the example directory is on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # shared llm.py
    from application import definition  # type: ignore[no-redef]
    from llm import ChatModel  # type: ignore[no-redef]

PAGE = """<!doctype html><meta charset="utf-8"><title>Burr streaming chat</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto}#log p{margin:.4em 0}</style>
<h1>Streaming chat</h1><div id="log"></div>
<form id="f"><input id="q" size="50" autofocus placeholder="Say something"><button>Send</button></form>
<script>
let appId = null;
const log = document.getElementById("log");
async function ensureApp() {
  if (!appId) appId = (await (await fetch("chat", {method: "POST"})).json()).app_id;
  return appId;
}
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const q = document.getElementById("q"), prompt = q.value; q.value = "";
  log.insertAdjacentHTML("beforeend", "<p><b>you:</b> </p><p><b>bot:</b> <span></span></p>");
  log.children[log.children.length - 2].append(prompt);
  const out = log.lastElementChild.querySelector("span");
  const response = await fetch(`chat/${await ensureApp()}/stream`, {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({inputs: {prompt}, halt_after: ["respond"]})});
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
      const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      const event = /event: (.*)/.exec(block)[1], data = JSON.parse(/data: (.*)/.exec(block)[1]);
      if (event === "item") out.append(data.delta);
    }
  }
};
</script>"""


def create_server(db_path: str = "streaming-chat.db", llm: ChatModel | None = None) -> FastAPI:
    api = FastAPI(title="Burr streaming chatbot")
    persister = SQLitePersister(
        db_path, table_name="streaming_chat", connect_kwargs={"check_same_thread": False}
    )
    persister.initialize()
    add_application_routes(
        api,
        lambda: definition(llm),
        persister,
        entrypoint="user_input",
        default_state={"chat_history": []},
        prefix="/chat",
    )

    @api.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    return api
