"""`mlspec diff` on two versions of the feed-ranking spec as a whole process, beside `python -c pass`.

Target (issue: spec diffs): <= 0.5 s wall. The head version changes a weight and a feature
expression, so the diff compiles and fingerprints both plans and explains most steps.
Prints medians and the ratio to a bare Python start, measured interleaved in one run.

    python bench/diff_speed.py [--repeat 15] [--format text|markdown|json]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _timing import PYTHON, ROOT, interleaved, median

SPEC = ROOT / "examples/feed_ranking/spec.yaml"


def head_version(folder: Path) -> Path:
    text = SPEC.read_text()
    text = text.replace("quality: 0.7", "quality: 0.6").replace(
        "engagement: 0.3", "engagement: 0.4"
    )
    text = text.replace('expr: "log1p(author_followers)"', 'expr: "log1p(author_followers + 1)"')
    head = folder / "spec.yaml"  # beside the example's data folder name, same relative paths
    head.write_text(text)
    return head


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--format", default="markdown", choices=("text", "markdown", "json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        head = head_version(Path(tmp))
        times = interleaved(
            {
                "python -c pass": [PYTHON, "-c", "pass"],
                "mlspec diff": [
                    PYTHON,
                    "-m",
                    "mlspec",
                    "diff",
                    str(SPEC),
                    str(head),
                    "--format",
                    args.format,
                ],
            },
            args.repeat,
        )
    base, diff = median(times["python -c pass"]), median(times["mlspec diff"])
    print(f"python -c pass              median {base * 1000:7.1f} ms")
    print(
        f"mlspec diff (feed, {args.format:<8}) median {diff * 1000:7.1f} ms   min {min(times['mlspec diff']) * 1000:.1f} ms"
    )
    print(f"ratio diff / bare python: {diff / base:.1f}x")
    print(f"target <= 500 ms: {'met' if diff <= 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
