"""The README's Python example runs as written."""

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text: str) -> list[str]:
    blocks, inside, lines = [], False, []
    for line in text.splitlines():
        if line.startswith("```python"):
            inside, lines = True, []
        elif line.startswith("```") and inside:
            blocks.append("\n".join(lines))
            inside = False
        elif inside:
            lines.append(line)
    return blocks


def test_readme_python_example_runs_and_its_claims_hold(capsys):
    blocks = _python_blocks(README.read_text())
    assert blocks, "README has no python example"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own README)
    x, g, h = namespace["x"], namespace["g"], namespace["h"]
    import numpy as np

    np.testing.assert_allclose(h.numpy(), np.exp(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), np.exp(x.numpy()), rtol=1e-6)
    assert "tensor(" in capsys.readouterr().out
