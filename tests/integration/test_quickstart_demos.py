"""The quickstart's "things to try" do what its README says (issue 13.20)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import mlspec

README = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "README.md"


def _try(prefix: str) -> str:
    return next(line for line in README.read_text().splitlines() if line.startswith(prefix))


def test_the_things_to_try(quickstart: Path) -> None:
    assert mlspec("run", str(quickstart)).returncode == 0
    text = quickstart.read_text()

    # "Change `C` of `lr` ... only that model and what follows it ...; `gbt` is cached."
    claim = _try("- Change `C` of `lr`") + _try("  (its evaluate") + _try("  writes the batch")
    assert "`gbt` is cached." in claim
    changed = re.sub(r"C: 1\.0", "C: 0.5", text, count=1)
    assert changed != text
    quickstart.write_text(changed)
    plan = json.loads(mlspec("plan", str(quickstart), "--json", check=True).stdout)
    to_run = {s["step"] for s in plan["steps"] if s["action"] == "run"}
    assert "train.diagnosis.lr" in to_run and "train.diagnosis.gbt" not in to_run
    named = set(
        re.findall(r"\b(select|gate|package|combine|report|profile|evaluate|score)\b", claim)
    )
    assert {s.split(".")[0] for s in to_run} - {"train"} == named
    quickstart.write_text(text)

    # "Raise the gate to `">= X"` and see the run fail with exit code 1"
    threshold = re.search(r'`"(>= [0-9.]+)"`', _try("- Raise the gate")).group(1)
    quickstart.write_text(re.sub(r'roc_auc: "[^"]+"', f'roc_auc: "{threshold}"', text))
    proc = mlspec("run", str(quickstart))
    assert proc.returncode == 1 and "error: the gate failed" in proc.stderr
    quickstart.write_text(text)

    # "Misspell a key (`modles:`) and see `mlspec validate` point at its line and column."
    quickstart.write_text(text.replace("    models:", "    modles:", 1))
    proc = mlspec("validate", str(quickstart))
    line = 1 + text.split("\n").index("    models:")
    assert proc.returncode == 2 and f"spec.yaml:{line}:5:" in proc.stdout + proc.stderr
