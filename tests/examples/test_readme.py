"""The README's code blocks run as written (``call_llm`` stands for the reader's own model client)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_code_blocks():
    assert len(BLOCKS) >= 2


def test_counter_block_counts_to_ten(capsys):
    exec(compile(BLOCKS[0], "README.md", "exec"), {})
    assert "counted to 10" in capsys.readouterr().out


def test_policies_block_retries_then_pauses_then_resumes_with_the_answer():
    calls = {"n": 0}

    def call_llm(prompt: str) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("503 from the provider")
        return f"draft: {prompt}"

    namespace = {"call_llm": call_llm}
    exec(compile(BLOCKS[1], "README.md", "exec"), namespace)
    app = namespace["app"]
    assert calls["n"] == 2  # the first attempt failed and was retried
    assert app.pending_interrupt is None
    assert app.state["approved"] is True
    assert app.state["draft"] == "draft: Reply to the customer"
