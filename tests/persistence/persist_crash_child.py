"""Child process for test_crash.py: resumes the app and runs it forever until killed."""

from __future__ import annotations

import sys

from burr.core import ApplicationBuilder, State, action, default


@action(reads=["chat"], writes=["chat"])
def chat(state: State) -> State:
    return state.append(chat=f"turn {len(state['chat'])}")


def make(kind: str, table: str, path: str):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        from burr.core.persistence import SQLitePersister

        return SQLitePersister(path, table)
    if kind == "postgresql":
        from burr.integrations.persisters.b_psycopg2 import PostgreSQLPersister

        return PostgreSQLPersister.from_values("test", "postgres", None, "127.0.0.1", 5432, table_name=table)
    if kind == "mysql":
        from burr.integrations.persisters.b_mysql import MySQLPersister

        return MySQLPersister.from_values("test", "root", "", "127.0.0.1", 3306, table_name=table)
    from burr.integrations.persisters.b_redis import RedisBasePersister

    return RedisBasePersister.from_values("127.0.0.1", 6379, 0, namespace=table)


def main() -> None:
    kind, table, path = sys.argv[1:4]
    on_every = sys.argv[4] if len(sys.argv) > 4 else "step"
    p = make(kind, table, path)
    p.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(chat=chat)
        .with_transitions(("chat", "chat", default))
        .initialize_from(p, resume_at_next_action=True, default_state={"chat": []}, default_entrypoint="chat")
        .with_state_persister(p, on_every=on_every)
        .with_identifiers(app_id="crashy", partition_key="pk")
        .build()
    )
    print("ready", flush=True)
    app.run(halt_after=[])


if __name__ == "__main__":
    main()
