"""The report step: every section, escaping, no network, determinism, tolerance; `mlspec report`."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from statistics import NormalDist
from typing import Any

from steps_fakes import FakeContext, FakeReader, FakeWriter, key, typed

from mlspec.steps import report
from mlspec.store import ArtifactStore, RunStore

ROOT = Path(__file__).resolve().parents[2]
N = NormalDist()

# ----------------------------------------------------------------------------- sample inputs


def _roc(d: float, n: int = 60) -> dict[str, list[float]]:
    """A binormal ROC curve with separation d (plain Python: no numpy needed)."""
    fpr = [i / n for i in range(n + 1)]
    tpr = [0.0 if f == 0 else 1.0 if f == 1 else N.cdf(N.inv_cdf(f) + d) for f in fpr]
    return {"fpr": [round(x, 6) for x in fpr], "tpr": [round(y, 6) for y in tpr]}


def _pr(d: float, prevalence: float = 0.3, n: int = 40) -> dict[str, list[float]]:
    roc = _roc(d, n)
    recall, precision = [], []
    for f, t in zip(roc["fpr"][1:], roc["tpr"][1:], strict=True):
        tp, fp = t * prevalence, f * (1 - prevalence)
        recall.append(round(t, 6))
        precision.append(round(tp / (tp + fp), 6))
    return {"precision": precision, "recall": recall}


def _metric(v: float, w: float = 0.02) -> dict[str, float]:
    return {"value": v, "low": round(v - w, 6), "high": round(v + w, 6)}


def _binary_eval(
    d: float, auc: float, logloss: float, *, importance: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "metrics": {
            "roc_auc": _metric(auc),
            "pr_auc": _metric(auc - 0.2, 0.03),
            "log_loss": _metric(logloss, 0.01),
        },
        "curves": {
            "roc": _roc(d),
            "pr": _pr(d),
            "calibration": {
                "mean_predicted": [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95],
                "fraction_positive": [0.04, 0.12, 0.27, 0.33, 0.49, 0.52, 0.7, 0.71, 0.88, 0.9],
                "count": [400, 320, 250, 200, 150, 120, 90, 60, 40, 0],
            },
            "confusion": {"labels": [0, 1], "matrix": [[2400, 400], [350, 850]]},
        },
        "slices": {
            "topic": [
                {
                    "value": "news",
                    "count": 1200,
                    "roc_auc": _metric(auc + 0.01),
                    "log_loss": _metric(logloss),
                },
                {
                    "value": "sport",
                    "count": 800,
                    "roc_auc": _metric(auc - 0.03),
                    "log_loss": _metric(logloss + 0.02),
                },
                {
                    "value": "<b>weird</b>",
                    "count": 12,
                    "roc_auc": {"value": None, "reason": "one class only"},
                    "log_loss": _metric(0.9),
                },
                {"value": None, "count": 40, "roc_auc": _metric(0.5), "log_loss": _metric(0.7)},
            ]
        },
        "fairness": {
            "author_group": {
                "demographic_parity_difference": 0.041,
                "equalized_odds_difference": 0.073,
                "groups": [
                    {"value": "A", "count": 2100, "selection_rate": 0.31, "tpr": 0.72, "fpr": 0.12},
                    {"value": "B", "count": 1900, "selection_rate": 0.27, "tpr": 0.65, "fpr": 0.11},
                ],
            }
        },
        "importance": {},
    }
    if importance:
        feats = ["log_followers", "length_words", "has_image", "hour", "long_read"] + [
            f"topic_{t}" for t in "abcdefghijklmn"
        ]
        out["importance"] = {
            "permutation": {
                f: {"mean": round(0.12 / (i + 1), 6), "std": round(0.01 / (i + 1), 6)}
                for i, f in enumerate(feats)
            },
            "model": {f: round((-1) ** i * 0.8 / (i + 1), 6) for i, f in enumerate(feats)},
        }
    return out


def _baseline_eval() -> dict[str, Any]:
    return {
        "metrics": {
            "roc_auc": _metric(0.5, 0.0),
            "pr_auc": _metric(0.3),
            "log_loss": _metric(0.61),
        },
        "curves": {
            "roc": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]},
            "pr": {"precision": [0.3, 0.3], "recall": [1.0, 0.0]},
        },
        "slices": {},
        "fairness": {},
        "importance": {},
    }


def _regression_eval(rmse: float, r2: float, with_curves: bool = True) -> dict[str, Any]:
    ys = [i * 1.7 % 97 for i in range(400)]
    preds = [round(y * 0.9 + 5 + ((i * 37) % 11 - 5), 4) for i, y in enumerate(ys)]
    return {
        "metrics": {"rmse": _metric(rmse, 0.4), "r2": _metric(r2)},
        "curves": {"residuals": {"y": ys, "prediction": preds}} if with_curves else {},
        "slices": {},
        "fairness": {},
        "importance": {
            "permutation": {"a": {"mean": 0.3, "std": 0.02}, "b": {"mean": 0.1, "std": 0.01}}
        },
    }


def _objective(
    name: str, task: str, target: str, metrics: list[str], select_by: str, higher: bool, **kw: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "task": task,
        "target": target,
        "features": [],
        "metrics": metrics,
        "select_by": select_by,
        "higher_is_better": higher,
        "threshold": kw.get("threshold"),
        "slices": kw.get("slices", []),
        "protected": kw.get("protected", []),
    }


def sample() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(params, {input name: {file: json}}) for a two-objective binary system plus a regression one."""
    params = {
        "name": "feed_ranking",
        "description": "Ranks posts by a weighted sum of two scores. <script>alert('x')</script> & more",
        "problem": {
            "goal": "Rank posts so that readers spend time on good posts",
            "business_metric": "take_rate",
            "task": "ranking",
        },
        "objectives": {
            "quality": _objective(
                "quality",
                "binary",
                "is_quality",
                ["roc_auc", "pr_auc", "log_loss"],
                "roc_auc",
                True,
                threshold=0.5,
                slices=["topic"],
                protected=["author_group"],
            ),
            "engagement": _objective(
                "engagement", "binary", "clicked", ["log_loss", "roc_auc"], "log_loss", False
            ),
            "dwell": _objective(
                "dwell", "regression", "dwell_seconds", ["rmse", "r2"], "rmse", False
            ),
        },
    }
    inputs: dict[str, dict[str, Any]] = {
        "select/quality": {
            "selection.json": {
                "selected": "gbt",
                "metric": "roc_auc",
                "value": 0.84,
                "higher_is_better": True,
                "ranking": [{"model": "gbt", "value": 0.84}, {"model": "lr", "value": 0.8}],
                "baseline": {"model": "baseline", "value": 0.5},
            }
        },
        "eval/quality/gbt": {"metrics.json": _binary_eval(1.4, 0.84, 0.45)},
        "eval/quality/lr": {"metrics.json": _binary_eval(1.2, 0.8, 0.48, importance=False)},
        "eval/quality/baseline": {"metrics.json": _baseline_eval()},
        "select/engagement": {
            "selection.json": {
                "selected": "lr",
                "metric": "log_loss",
                "value": 0.62,
                "higher_is_better": False,
                "ranking": [{"model": "lr", "value": 0.62}, {"model": "hgb", "value": 0.63}],
                "baseline": {"model": "baseline", "value": 0.61},
            }
        },
        "eval/engagement/lr": {"metrics.json": _binary_eval(0.3, 0.55, 0.62)},
        "eval/engagement/hgb": {"metrics.json": _binary_eval(0.25, 0.54, 0.63)},
        "eval/engagement/baseline": {"metrics.json": _baseline_eval()},
        "select/dwell": {
            "selection.json": {
                "selected": "gbt",
                "metric": "rmse",
                "value": 9.7,
                "higher_is_better": False,
                "ranking": [{"model": "gbt", "value": 9.7}],
                "baseline": {"model": "baseline", "value": 28.0},
            }
        },
        "eval/dwell/gbt": {"metrics.json": _regression_eval(9.7, 0.81)},
        "eval/dwell/baseline": {"metrics.json": _regression_eval(28.0, 0.0, with_curves=False)},
        "combine": {
            "combine.json": {
                "weights": {"quality": 0.7, "engagement": 0.3, "dwell": 0.0},
                "scale": {"quality": "probability", "engagement": "probability", "dwell": "rank"},
                "scaling": {"quality": {}, "engagement": {}, "dwell": {"n": 4000}},
                "selected": {"quality": "gbt", "engagement": "lr", "dwell": "gbt"},
                "metrics": {"roc_auc": _metric(0.71)},
            }
        },
        "gate": {
            "gate.json": {
                "passed": True,
                "results": [
                    {
                        "scope": "quality",
                        "model": "gbt",
                        "metric": "roc_auc",
                        "op": ">=",
                        "threshold": 0.6,
                        "value": 0.84,
                        "passed": True,
                        "margin": 0.24,
                    },
                    {
                        "scope": "combine",
                        "model": None,
                        "metric": "roc_auc",
                        "op": ">=",
                        "threshold": 0.65,
                        "value": 0.71,
                        "passed": True,
                        "margin": 0.06,
                    },
                ],
            }
        },
        "profile": {
            "profile.json": {
                "bins": 10,
                "top": 50,
                "rows": {"train": 14000, "test": 4000},
                "columns": {
                    "log_followers": {
                        "kind": "numeric",
                        "count": 13600,
                        "null_fraction": 0.0286,
                        "edges": [0, 1, 2, 3],
                        "frequencies": [0.2, 0.5, 0.3],
                    },
                    "topic": {
                        "kind": "categorical",
                        "count": 14000,
                        "null_fraction": 0.0,
                        "distinct": 2,
                        "frequencies": {"news": 0.6, "sport": 0.4},
                        "other": 0.0,
                    },
                },
                "scores": {
                    "score": {
                        "kind": "numeric",
                        "count": 4000,
                        "null_fraction": 0.0,
                        "edges": [0, 0.5, 1],
                        "frequencies": [0.5, 0.5],
                    }
                },
                "performance": {
                    "quality_auc": {"objective": "quality", "metric": "roc_auc", "value": 0.84}
                },
                "monitors": [
                    {
                        "name": "input_drift",
                        "type": "data_drift",
                        "columns": ["log_followers", "topic"],
                        "test": "psi",
                        "threshold": 0.2,
                    },
                    {
                        "name": "score_drift",
                        "type": "prediction_drift",
                        "objective": None,
                        "threshold": 0.1,
                    },
                    {
                        "name": "quality_auc",
                        "type": "performance",
                        "objective": "quality",
                        "metric": "roc_auc",
                        "threshold": 0.05,
                    },
                ],
            }
        },
    }
    return params, inputs


# ----------------------------------------------------------------------------- helpers


def command_line(command: str) -> list[str]:
    """`python -m mlspec COMMAND`; while another command's module is still being written
    (the CLI imports them all), the command's module is driven directly."""
    from mlspec.cli import COMMANDS

    if all(importlib.util.find_spec(f"mlspec.commands.{m}") for m, _ in COMMANDS.values()):
        return [sys.executable, "-m", "mlspec", command]
    runner = (
        "import argparse, sys, importlib; m = importlib.import_module(sys.argv[1]); "
        "p = argparse.ArgumentParser(); m.configure(p); sys.exit(m.run(p.parse_args(sys.argv[2:])))"
    )
    return [sys.executable, "-c", runner, f"mlspec.commands.{COMMANDS[command][0]}"]


class FileWriter(FakeWriter):
    """A fake writer with a real folder, for steps that write native files."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def path(self, name: str) -> Path:
        p = self.folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def render(
    tmp_path: Path, params: dict[str, Any], inputs: dict[str, dict[str, Any]]
) -> tuple[str, FakeContext]:
    full = {"description": "", "problem": None, **params}
    ctx = FakeContext(
        full, {k: FakeReader({}, v) for k, v in inputs.items()}, step_id="report", kind="report"
    )
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}"
    ctx.output = FileWriter(out)  # type: ignore[assignment]
    report.run(ctx)
    return (out / "report.html").read_text(encoding="utf-8"), ctx


class TagCounter(HTMLParser):
    """Counts start and end tags, collects src/href values and text of <script>."""

    VOID = frozenset(
        {
            "meta",
            "br",
            "hr",
            "img",
            "input",
            "link",
            "source",
            "wbr",
            "area",
            "base",
            "col",
            "embed",
            "track",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.opened: dict[str, int] = {}
        self.closed: dict[str, int] = {}
        self.urls: list[str] = []
        self.stack: list[str] = []
        self.mismatched: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.opened[tag] = self.opened.get(tag, 0) + 1
        self.urls += [
            v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "data")
        ]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(
        self, tag: str, attrs: list[tuple[str, str | None]]
    ) -> None:  # <line .../>
        self.opened[tag] = self.opened.get(tag, 0) + 1
        self.closed[tag] = self.closed.get(tag, 0) + 1
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]

    def handle_endtag(self, tag: str) -> None:
        self.closed[tag] = self.closed.get(tag, 0) + 1
        top = self.stack.pop() if self.stack else ""
        if top != tag:
            self.mismatched.append((top, tag))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> TagCounter:
    p = TagCounter()
    p.feed(html)
    p.close()
    return p


def well_formed(html: str) -> TagCounter:
    p = parse(html)
    assert p.mismatched == [], p.mismatched[:5]
    assert p.stack == []
    for tag in (
        "html",
        "head",
        "body",
        "main",
        "section",
        "table",
        "thead",
        "tbody",
        "tr",
        "td",
        "th",
        "svg",
        "p",
        "dl",
        "figure",
        "nav",
        "header",
    ):
        assert p.opened.get(tag, 0) == p.closed.get(tag, 0), tag
    assert p.opened["html"] == p.opened["body"] == p.opened["head"] == 1
    return p


# ----------------------------------------------------------------------------- tests


def test_every_section_is_there(tmp_path: Path) -> None:
    params, inputs = sample()
    html, ctx = render(tmp_path, params, inputs)
    p = well_formed(html)
    assert ctx.warnings == []
    for anchor in (
        "summary",
        "gates",
        "obj-quality",
        "obj-engagement",
        "obj-dwell",
        "combined",
        "profile",
    ):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    text = " ".join(p.text)
    # header
    assert "feed_ranking" in text and "take_rate" in text and "Rank posts so that" in text
    # gate banner
    assert "Gate passed: all 2 thresholds met." in text
    # metrics with 95% intervals, the baseline row, the selected model marked
    assert "0.84" in text and "0.82 – 0.86" in text
    assert text.count("selected") >= 3 and 'class="tag base"' in html
    assert "beats the baseline by 0.34" in text  # quality: 0.84 vs 0.5
    assert "does not beat the baseline" in text  # engagement: 0.62 log loss vs 0.61
    assert "beats the baseline by 18.3 " in text  # dwell: rmse 9.7 vs 28
    # charts: ROC, PR, calibration, confusion for binary; residuals for regression; importance
    for title in (
        "ROC curve: quality",
        "Precision-recall: quality",
        "Calibration: gbt",
        "Confusion matrix: gbt",
        "Actual against predicted: gbt",
        "Permutation importance: gbt",
        "Model importance: gbt",
    ):
        assert f"<title>{title}</title>" in html, title
    # slices: count beside the metrics, small slices marked, null value shown
    assert "<th>count</th>" in html and 'class="num small">12<' in html and "(null)" in text
    # fairness
    assert "demographic_parity_difference" in text and "selection_rate" in text
    # combined score
    assert (
        "score = 0.7 × score" in text and "probability" in text and "<code>n</code> = 4000" in html
    )
    # profile
    assert (
        "Scores, on the test split" in text
        and "(14000 rows)" in text
        and "input_drift" in text
        and "0.0286" in text
    )


def test_escapes_user_text_and_fetches_nothing(tmp_path: Path) -> None:
    params, inputs = sample()
    html, _ = render(tmp_path, params, inputs)
    p = well_formed(html)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;weird&lt;/b&gt;" in html  # a slice value from the data
    assert (
        p.opened.get("script", 0) == 0
        and p.opened.get("img", 0) == 0
        and p.opened.get("link", 0) == 0
    )
    assert all(u.startswith("#") for u in p.urls), p.urls
    assert "http://" not in html and "https://" not in html and "//" not in "".join(p.urls)
    assert "default-src 'none'" in html


def test_deterministic_bytes(tmp_path: Path) -> None:
    params, inputs = sample()
    a, _ = render(tmp_path, params, inputs)
    b, _ = render(tmp_path, copy.deepcopy(params), copy.deepcopy(inputs))
    assert a == b
    inputs["eval/quality/gbt"]["metrics.json"]["metrics"]["roc_auc"]["value"] = 0.85
    c, _ = render(tmp_path, params, inputs)
    assert c != a


def test_failed_gate_has_a_banner(tmp_path: Path) -> None:
    params, inputs = sample()
    inputs["gate"]["gate.json"] = {
        "passed": False,
        "results": [
            {
                "scope": "quality",
                "metric": "roc_auc",
                "op": ">=",
                "threshold": 0.9,
                "value": 0.84,
                "passed": False,
                "margin": -0.06,
            },
            {
                "scope": "combined",
                "metric": "roc_auc",
                "op": ">=",
                "threshold": 0.65,
                "value": 0.71,
                "passed": True,
                "margin": 0.06,
            },
        ],
    }
    html, _ = render(tmp_path, params, inputs)
    well_formed(html)
    assert html.count('class="banner fail"') == 2  # summary and gates
    assert "Gate FAILED. 1 of 2 thresholds missed (quality roc_auc)" in html
    assert '<td class="fail">FAIL</td>' in html and "-0.06" in html and "+0.06" in html


def test_missing_sections_say_not_available(tmp_path: Path) -> None:
    params, inputs = sample()
    for name in ("combine", "gate", "profile", "eval/quality/lr", "select/engagement"):
        del inputs[name]
    del inputs["eval/quality/gbt"]["metrics.json"]["curves"]
    inputs["eval/quality/gbt"]["metrics.json"]["importance"] = "odd"
    html, ctx = render(tmp_path, params, inputs)
    well_formed(html)
    for what in (
        "Gate results",
        "The combined score",
        "The reference profile",
        "Curves",
        "Feature importance",
        "Selection",
    ):
        assert f"{what}: not available." in html, what
    assert "Gate: not available." in html
    assert (
        len(ctx.warnings) == 1
        and "eval/quality/lr" in ctx.warnings[0]
        and "select/engagement" in ctx.warnings[0]
    )


def test_nothing_at_all_still_renders(tmp_path: Path) -> None:
    html, _ = render(tmp_path, {"name": "empty", "objectives": {"o": {}}}, {})
    well_formed(html)
    assert "Objective <code>o</code>" in html and "Metrics: not available." in html


def test_null_metric_and_odd_shapes(tmp_path: Path) -> None:
    params, inputs = sample()
    ev = inputs["eval/quality/gbt"]["metrics.json"]
    ev["metrics"]["pr_auc"] = {"value": None, "low": None, "high": None, "reason": "no positives"}
    ev["metrics"]["log_loss"] = 0.45  # a bare number: no interval
    ev["curves"]["roc"] = {"fpr": [0.0, float("nan"), 1.0], "tpr": [0.0, None, 1.0]}
    ev["slices"]["topic"][0] = {"value": "news", "count": 5, "metrics": {"roc_auc": 0.7}}
    inputs["select/quality"]["selection.json"]["value"] = None
    html, _ = render(tmp_path, params, inputs)
    well_formed(html)
    assert 'title="no positives"' in html
    assert "cannot compare with the baseline" in html


def test_through_the_store_and_the_cli(tmp_path: Path) -> None:
    """The registered step runs from a real store; `mlspec report` copies its page out."""
    from mlspec.engine.task import StepTask, run_task

    params, inputs = sample()
    store = ArtifactStore(tmp_path / "store")
    fps: dict[str, str] = {}
    for name, files in sorted(inputs.items()):
        fp = hashlib.sha256(name.encode()).hexdigest()[:32]
        w = store.stage(fp, name)
        for file, value in files.items():
            w.write_json(value, file)
        store.commit(w)
        fps[name] = fp
    fp = "ab" * 16
    task = StepTask(
        "report",
        "report",
        fp,
        typed({"description": "", "problem": None, **params}, "report"),
        {key(k): v for k, v in fps.items()},
        str(store.root),
        str(tmp_path),
        str(tmp_path / "report.log"),
    )
    result = run_task(task)
    assert result.ok, result.error
    page = store.open(fp).path("report.html").read_bytes()
    # the same task into another store gives the same bytes
    again = ArtifactStore(tmp_path / "store2")
    for f in fps.values():
        shutil.copytree(store.folder(f), again.folder(f))
    assert run_task(
        StepTask(
            "report",
            "report",
            fp,
            typed({"description": "", "problem": None, **params}, "report"),
            {key(k): v for k, v in fps.items()},
            str(again.root),
            str(tmp_path),
            str(tmp_path / "r2.log"),
        )
    ).ok
    assert again.open(fp).path("report.html").read_bytes() == page

    runs = RunStore(store.root / "runs.sqlite")
    old = runs.start_run(
        spec_path="spec.yaml", spec_name="feed_ranking", spec_hash="h", backend="local"
    )
    runs.record_step(old, step_id="gate", kind="gate", fingerprint=fps["gate"], status="succeeded")
    runs.record_step(old, step_id="report", kind="report", fingerprint=None, status="skipped")
    runs.finish_run(old, "failed")
    run_id = runs.start_run(
        spec_path="spec.yaml", spec_name="feed_ranking", spec_hash="h", backend="local"
    )
    runs.record_step(run_id, step_id="report", kind="report", fingerprint=fp, status="succeeded")
    runs.finish_run(run_id, "succeeded")
    runs.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BROWSER": "true", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
        return subprocess.run(
            [*command_line("report"), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    proc = cli("--store", "store")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "store" / "reports" / f"report-{run_id}.html"  # under the store (13.15)
    assert Path(proc.stdout.strip()) == out
    assert out.read_bytes() == page
    # A prefix of the id: both runs may start in the same second, so take one that `old`
    # does not share (run_id[:17] held one random hex digit: ambiguous 1 time in 16).
    prefix = next(run_id[:k] for k in range(17, len(run_id) + 1) if not old.startswith(run_id[:k]))
    proc = cli("--store", "store", "--run", prefix, "-o", "sub/r.html", "--open")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sub" / "r.html").read_bytes() == page
    # errors: no store, unknown run, a run without a report
    proc = cli("--store", "nowhere")
    assert proc.returncode == 2 and "no run records" in proc.stderr
    proc = cli("--store", "store", "--run", "19990101")
    assert proc.returncode == 2 and "no run '19990101'" in proc.stderr
    proc = cli("--store", "store", "--run", old)
    assert proc.returncode == 2 and "has no report" in proc.stderr and run_id in proc.stderr


def test_write_sample(tmp_path: Path) -> None:
    """Renders the sample page; with MLSPEC_REPORT_SAMPLE=/path/report.html it is kept there
    (to look at it in a browser), else in the test's temporary folder."""
    target = Path(os.environ.get("MLSPEC_REPORT_SAMPLE") or tmp_path / "report.html")
    params, inputs = sample()
    html, _ = render(tmp_path, params, inputs)
    target.write_text(html, encoding="utf-8")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
