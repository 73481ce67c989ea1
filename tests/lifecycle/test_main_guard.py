"""Item 3 of issue 18: a script that starts spawn workers without the `__main__` guard is refused
with one line, before any worker starts; the guarded form (as in the README) runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT
from tests.runner.conftest import TOY

BODY = """\
import sim
runs = sim.sweep({scen!r}, executor="processes", workers=1, progress=False)
print("rows", len(runs))
"""


def _run(tmp_path, code: str):
    scen = tmp_path / "s.yaml"
    scen.write_text(TOY.replace("duration: 2s", "duration: 0.2s"))
    script = tmp_path / "script.py"
    script.write_text(code.format(scen=str(scen)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=180)


def test_an_unguarded_script_is_refused_in_one_line(tmp_path):
    p = _run(tmp_path, BODY)
    err = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 1, p.stderr[-2000:]
    assert len(err) == 1, p.stderr[-2000:]
    assert 'if __name__ == "__main__":' in err[0] and "script.py" in err[0]


def test_the_readme_form_with_the_guard_runs(tmp_path):
    guarded = 'if __name__ == "__main__":\n' + textwrap.indent(BODY, "    ")
    p = _run(tmp_path, guarded)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "rows 2" in p.stdout


def test_the_readme_snippet_has_the_guard():
    readme = (ROOT / "README.md").read_text()
    snippet = readme.split("```python", 1)[1].split("```", 1)[0]
    assert 'if __name__ == "__main__":' in snippet and "sim.sweep(" in snippet
