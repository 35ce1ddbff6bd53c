"""Golden diffs over the spec pairs in specs/diff/, and the semantic comparison's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlspec.diff.changes import SpecDiff, compare, display_path, semantic_diff
from mlspec.diff.jsonout import SCHEMA_VERSION, to_dict
from mlspec.lang.validate import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs" / "diff"


def diff(base: str, head: str) -> SpecDiff:
    return compare(load_spec(SPECS / base), load_spec(SPECS / head), base_file=base, head_file=head)


def actions(d: SpecDiff, action: str) -> set[str]:
    return {s.step for s in d.steps if s.action == action}


SYSTEM = {"combine", "gate", "profile", "package", "report"}


def test_weight_change_reruns_only_combine_and_descendants() -> None:
    d = diff("feed.yaml", "weight-change.yaml")
    assert actions(d, "rerun") == SYSTEM
    assert not d.retrains and not actions(d, "new") and not actions(d, "removed")
    assert [c.path for c in d.changes] == ["combine.weights.engagement", "combine.weights.quality"]
    quality = d.changes[1]
    assert (quality.base, quality.head, quality.kind) == (0.7, 0.6, "changed")
    assert quality.base_line == quality.head_line == 128
    assert d.weights == {"engagement": (0.3, 0.4), "quality": (0.7, 0.6)}
    assert (
        "0 models retrain · 5 steps rerun · 25 reused · weights engagement 0.3→0.4, quality 0.7→0.6"
        in d.summary()
    )
    combine = next(s for s in d.steps if s.step == "combine")
    assert "spec path combine.weights.quality changed" in combine.reasons


def test_feature_expression_change_reruns_features_and_every_model_downstream() -> None:
    d = diff("feed.yaml", "feature-expr.yaml")
    (change,) = d.changes
    assert change.path == "features[log_followers].expr"
    assert (change.base, change.head) == ("log1p(author_followers)", "log1p(author_followers + 1)")
    assert change.base_line == change.head_line == 67  # the line of `expr:`
    rerun = actions(d, "rerun")
    assert "features" in rerun and rerun >= SYSTEM
    assert {s for s in rerun if s.startswith("train.")} == {
        f"train.{o}.{m}"
        for o, ms in (
            ("quality", ("lr", "gbt", "baseline")),
            ("engagement", ("lr", "hgb", "baseline")),
        )
        for m in ms
    }
    assert actions(d, "reuse") == {
        "load.posts",
        "load.clicks",
        "check.posts",
        "check.clicks",
        "join",
        "split",  # it reads only its `by` column, which the change leaves alone
    }
    assert len(d.retrains) == 6 and d.objectives_touched == ["engagement", "quality"]


def test_new_objective_adds_its_steps_and_touches_only_the_system_of_the_others() -> None:
    d = diff("feed.yaml", "new-objective.yaml")
    new = actions(d, "new")
    assert new == {
        "train.length.ridge",
        "evaluate.length.ridge",
        "train.length.baseline",
        "evaluate.length.baseline",
        "select.length",
    }
    assert {c.path: c.kind for c in d.changes} == {
        "combine.weights.length": "added",
        "objectives.length": "added",
    }
    assert "length" in d.objectives_touched
    assert d.weights == {"length": (None, 0.1)}
    assert set(d.retrains) == {"train.length.ridge", "train.length.baseline"} | {
        s for s in d.retrains if s.startswith(("train.quality.", "train.engagement."))
    }
    assert next(c for c in d.changes if c.path == "objectives.length").head_line is not None


def test_removed_source_removes_its_load_and_the_join() -> None:
    d = diff("two-sources.yaml", "removed-source.yaml")
    assert actions(d, "removed") == {"load.authors", "join"}
    assert actions(d, "reuse") == {"load.posts"}
    assert {c.path: c.kind for c in d.changes} == {
        "data.joins": "changed",
        "data.sources.authors": "removed",
    }
    removed = next(c for c in d.changes if c.kind == "removed")
    assert removed.base_line == 9 and removed.head_line is None


def test_pure_reformat_is_no_change() -> None:
    d = diff("feed.yaml", "reformat.yaml")
    assert d.changes == [] and d.affected == [] and d.retrains == []
    assert d.summary() == "no semantic change · 0 steps rerun · 30 reused"


def test_reordered_named_lists_are_reported_as_reordered_not_as_value_changes() -> None:
    d = diff("feed.yaml", "reorder-named-lists.yaml")
    assert {c.kind for c in d.changes} == {"reordered"}
    assert {c.path for c in d.changes} == {
        "features",
        "monitors",
        "objectives.quality.models",
        "objectives.engagement.models",
    }


def test_semantic_diff_rules() -> None:
    named_a = [{"name": "a", "x": 1}, {"name": "b", "x": 2}]
    named_b = [{"name": "b", "x": 3}, {"name": "a", "x": 1}, {"name": "c"}]
    got = [(display_path(p), k) for p, k in semantic_diff({"l": named_a}, {"l": named_b})]
    assert got == [("l[b].x", "changed"), ("l[c]", "added"), ("l", "reordered")]
    assert semantic_diff({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}) == []
    assert [k for _, k in semantic_diff({"a": 1}, {"a": 1.0})] == [
        "changed"
    ]  # 1 and 1.0 differ, as in fingerprints
    assert semantic_diff([1, 2], [1, 2, 3]) == [((), "changed")]


def test_json_schema_is_stable() -> None:
    d = diff("feed.yaml", "weight-change.yaml")
    doc = json.loads(json.dumps(to_dict(d)))
    assert doc["version"] == SCHEMA_VERSION == 1
    assert set(doc) == {
        "version",
        "base",
        "head",
        "summary",
        "counts",
        "objectives_touched",
        "retrains",
        "weights",
        "changes",
        "steps",
        "metrics",
        "store",
        "data",
    }
    assert doc["counts"] == {"new": 0, "rerun": 5, "reuse": 25, "removed": 0}
    assert set(doc["changes"][0]) == {"path", "kind", "base_line", "head_line", "base", "head"}
    assert set(doc["steps"][0]) == {
        "step",
        "kind",
        "action",
        "reasons",
        "inputs",
        "base_fingerprint",
        "head_fingerprint",
    }
    assert doc["weights"]["quality"] == {"base": 0.7, "head": 0.6}


@pytest.mark.parametrize(
    "head", ["weight-change.yaml", "feature-expr.yaml", "new-objective.yaml", "reformat.yaml"]
)
def test_data_files_are_never_hashed(head: str) -> None:
    d = compare(
        load_spec(SPECS / "feed.yaml"), load_spec(SPECS / head), base_file="b", head_file="h"
    )
    assert all(
        "content changed" not in r and "missing" not in r for s in d.steps for r in s.reasons
    )


def test_evaluation_settings_re_evaluate_and_refit_nothing(tmp_path: Path) -> None:
    text = (SPECS / "feed.yaml").read_text()
    assert text.count("\n  quality:\n") == 1
    head = tmp_path / "evaluation.yaml"
    head.write_text(
        text.replace(
            "\n  quality:\n", "\n  quality:\n    evaluation: {bootstrap: 0, importance: false}\n"
        )
    )
    d = compare(
        load_spec(SPECS / "feed.yaml"),
        load_spec(head),
        base_file="feed.yaml",
        head_file="evaluation.yaml",
    )
    assert not d.retrains
    evaluated = {f"evaluate.quality.{m}" for m in ("lr", "gbt", "baseline")}
    assert actions(d, "rerun") == evaluated | {"select.quality"} | SYSTEM
    assert {c.path for c in d.changes} == {
        "objectives.quality.evaluation.bootstrap",
        "objectives.quality.evaluation.importance",
    }
