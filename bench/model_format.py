"""joblib (pickle) against skops for the examples' fitted pipelines: size, load time, bytes.

Issue 18 asks to prefer a format that does not execute code on load where a library offers
one. skops.io stores a scikit-learn object as a schema plus arrays and rebuilds only types
on a trusted list. For each trained pipeline of the quickstart and feed-ranking examples
(built in a temporary store; feed ranking at --rows rows) this prints: bytes with joblib and
with skops, the median load time of each (interleaved, in this process), whether two skops
dumps of one object are byte-identical (artifacts must be reproducible), and the types skops
would need trusted beyond its defaults.

    pip install skops==0.16.0   # not a dependency of mlspec: only this benchmark uses it
    python bench/model_format.py [--rows 20000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _timing import PYTHON, ROOT, median


def build(tmp: Path, name: str, *args: str) -> Path:
    project = tmp / name
    shutil.copytree(
        ROOT / "examples" / name, project, ignore=shutil.ignore_patterns("data", ".mlspec")
    )
    subprocess.run([PYTHON, str(project / "make_data.py"), *args], check=True, capture_output=True)
    store = tmp / f"{name}-store"
    subprocess.run(
        [PYTHON, "-m", "mlspec", "run", str(project / "spec.yaml"), "--store", str(store)],
        check=True,
        capture_output=True,
    )
    return store


def pipelines(store: Path) -> dict[str, Path]:
    out = {}
    for manifest in sorted(store.glob("objects/*/*/manifest.json")):
        m = json.loads(manifest.read_text())
        if m.get("kind") == "train" and "model/pipeline.joblib" in m["files"]:
            out[m["step"]] = manifest.parent / "model" / "pipeline.joblib"
    return out


def main() -> None:
    import joblib
    import skops.io as sio

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = {
            "quickstart": build(Path(tmp), "quickstart"),
            "feed_ranking": build(Path(tmp), "feed_ranking", "--rows", str(args.rows)),
        }
        print(
            f"{'pipeline':<44} {'joblib':>9} {'skops':>9} {'size':>6} {'load':>6}  same bytes  untrusted types"
        )
        ratios_size, ratios_load = [], []
        for example, store in stores.items():
            for step, path in pipelines(store).items():
                raw = path.read_bytes()
                obj = joblib.load(path)
                blob = sio.dumps(obj)
                same = sio.dumps(obj) == blob
                untrusted = sio.get_untrusted_types(data=blob)
                tj, ts = [], []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    joblib.load(io.BytesIO(raw))
                    tj.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    sio.loads(blob, trusted=untrusted)
                    ts.append(time.perf_counter() - t)
                rs, rl = len(blob) / len(raw), median(ts) / median(tj)
                ratios_size.append(rs)
                ratios_load.append(rl)
                short = ", ".join(sorted({u.rsplit(".", 1)[-1] for u in untrusted})) or "-"
                print(
                    f"{example + ':' + step:<44} {len(raw):>9,} {len(blob):>9,} {rs:>5.2f}x {rl:>5.1f}x  "
                    f"{'yes' if same else 'NO':<10}  {short}"
                )
        print(
            f"median skops/joblib: size {median(ratios_size):.2f}x, load time {median(ratios_load):.1f}x"
        )


if __name__ == "__main__":
    main()
