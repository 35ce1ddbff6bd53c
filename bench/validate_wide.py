"""`mlspec validate` on a spec of N unknown top-level keys: text output against `--json`.

Issue 19: with 50,000 unknown keys the text output took 693 s and `--json` ~4 s (each
diagnostic split the whole source into lines again), and `plan` and `diff` ran past 180 s.
Targets: the text output within 1.5x the JSON output (same diagnostics, 50 printed); linear
in N (50,000 keys within 15x the time of 5,000, whole processes). Interleaved, medians.

    python bench/validate_wide.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from _timing import PYTHON, median


def _seconds(argv: list[str]) -> float:
    """One whole process; exit 2 (invalid spec) is the expected answer here."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = time.perf_counter() - start
    assert proc.returncode == 2, argv
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        specs = {}
        for n in (5_000, 50_000):
            spec = Path(tmp) / f"wide{n}.yaml"
            spec.write_text("mlspec: 1\nname: t\n" + "".join(f"k{i}: 1\n" for i in range(n)))
            specs[n] = str(spec)
        validate = [PYTHON, "-m", "mlspec", "validate"]
        commands = {
            "text 5k": [*validate, specs[5_000]],
            "text 50k": [*validate, specs[50_000]],
            "json 50k": [*validate, "--json", specs[50_000]],
            "plan 50k": [PYTHON, "-m", "mlspec", "plan", specs[50_000]],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved: the machine's noise hits every side
            for name, argv in commands.items():
                times[name].append(_seconds(argv))
    med = {name: median(t) for name, t in times.items()}
    for name, t in med.items():
        print(f"validate {name:9} median {t:7.2f} s")
    text_json = med["text 50k"] / med["json 50k"]
    growth = med["text 50k"] / med["text 5k"]
    print(f"text / json at 50k keys: {text_json:.2f}x (target <= 1.5x; was 693 s / 4 s = 173x)")
    print(f"50k / 5k keys (text): {growth:.1f}x (target <= 15x: linear)")
    met = text_json <= 1.5 and growth <= 15
    print(f"targets: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
