"""`mlspec validate` on the feed-ranking spec as a whole process, beside `python -c pass`.

Target (issue: spec front end): <= 0.3 s wall. Prints medians and the ratio to a bare Python
start, measured interleaved in one run.

    python bench/validate_speed.py [--repeat 15]
"""

from __future__ import annotations

import argparse

from _timing import PYTHON, interleaved, median

SPEC = "examples/feed_ranking/spec.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    times = interleaved(
        {
            "python -c pass": [PYTHON, "-c", "pass"],
            "mlspec validate": [PYTHON, "-m", "mlspec", "validate", "-q", SPEC],
        },
        args.repeat,
    )
    base, val = median(times["python -c pass"]), median(times["mlspec validate"])
    print(f"python -c pass          median {base * 1000:7.1f} ms")
    print(
        f"mlspec validate (feed)  median {val * 1000:7.1f} ms   min {min(times['mlspec validate']) * 1000:.1f} ms"
    )
    print(f"ratio validate / bare python: {val / base:.1f}x")
    print(f"target <= 300 ms: {'met' if val <= 0.3 else 'MISSED'}")


if __name__ == "__main__":
    main()
