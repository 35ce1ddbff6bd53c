"""The step contract: one typed params class per kind, and identities derived from it.

Plans are built from real specs (specs/diff/feed.yaml: two objectives, a search, slices,
monitors), so a field the planner forgets or an input it mislabels fails here.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from mlspec.compile.fingerprint import (
    Fingerprint,
    explain,
    fingerprint_plan,
    fingerprint_step,
    step_labels,
    upstream_digests,
)
from mlspec.compile.plan import Plan, PlanError
from mlspec.compile.planner import compile_plan, inputs
from mlspec.contract.params import Params, ParamsError, strip_positions
from mlspec.lang.validate import load_spec
from mlspec.steps.kinds import KINDS, code_version
from mlspec.steps.params import PARAMS, TrainParams

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "specs" / "diff" / "feed.yaml"
# mlspec's own kinds (tests register others, e.g. the Ray tests' `test_ray`)
BUILTIN = {k: c for k, c in PARAMS.items() if KINDS[k].module.startswith("mlspec.")}


def _hash(rel: str) -> str:
    return "h:" + rel


def plan_of(
    text: str, tmp_path: Path, name: str = "spec.yaml"
) -> tuple[Plan, dict[str, Fingerprint]]:
    path = tmp_path / name
    path.write_text(text)
    plan = compile_plan(load_spec(path))
    return plan, fingerprint_plan(plan, _hash)


def feed(tmp_path: Path, edit: Any = None) -> tuple[Plan, dict[str, Fingerprint]]:
    text = FEED.read_text()
    if edit is not None:
        text = edit(text)
    return plan_of(text, tmp_path, f"spec{len(list(tmp_path.iterdir()))}.yaml")


def rerun(a: dict[str, Fingerprint], b: dict[str, Fingerprint]) -> set[str]:
    return {s for s in b if s in a and a[s].digest != b[s].digest}


# ----------------------------------------------------------------------------- declarations


def test_every_kind_has_one_params_class_and_every_field_a_docstring() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import gen_step_contracts

    assert set(PARAMS) == set(KINDS)
    docs = gen_step_contracts.field_docs()
    for kind, cls in BUILTIN.items():
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, kind
        for f in cls.fields():
            assert docs[cls.__name__][f.name][1], f"{cls.__name__}.{f.name} has no docstring"


def test_the_step_contracts_page_is_generated_from_the_classes() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import gen_step_contracts

    page = (ROOT / "docs" / "step-contracts.md").read_text()
    assert gen_step_contracts.render() in page, "run: python tools/gen_step_contracts.py"


def test_params_refuse_unknown_and_missing_fields() -> None:
    good = {
        "objective": {},
        "model": {"name": "m", "type": "dummy", "params": {}},
        "search": None,
        "seed": 1,
        "threads": 1,
    }
    assert TrainParams.from_json(good).seed == 1
    with pytest.raises(ParamsError, match="no field 'sede'"):
        TrainParams.from_json({**good, "sede": 2})
    with pytest.raises(ParamsError, match="needs field 'seed'"):
        TrainParams.from_json({k: v for k, v in good.items() if k != "seed"})


def test_every_step_of_a_plan_gets_its_kinds_params_and_a_source_per_field(tmp_path: Path) -> None:
    plan, _ = feed(tmp_path)
    for step in plan.steps():
        assert type(step.params) is PARAMS[step.kind], step.id
        for name in type(step.params).identity_fields():
            # every field that shapes the output says where in the spec it came from
            assert name in step.sources, f"{step.id}: field {name} has no spec source"


# ----------------------------------------------------------------------------- identity


def _perturb(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.125
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return "x"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return [{**copy.deepcopy(value[0]), "zz_perturbed": 1}, *copy.deepcopy(value[1:])]
        return [*copy.deepcopy(value), "x"]
    if isinstance(value, dict):
        return {**copy.deepcopy(value), "zz_perturbed": 1}
    raise AssertionError(type(value))


def test_every_field_of_every_kind_changes_the_fingerprint_exactly_when_it_shapes_output(
    tmp_path: Path,
) -> None:
    plan, fps = feed(tmp_path)
    batch, batch_fps = feed(  # with a batch deployment: the score step too
        tmp_path,
        lambda t: t.replace(
            "deployment:\n  target: rest\n  rest:\n    port: 8080\n",
            "deployment:\n  target: batch\n  batch: {input: data/posts.parquet}\n",
        ),
    )
    assert "score" in batch
    seen: set[str] = set()
    steps = [(s, fps) for s in plan.steps()] + [(batch.step("score"), batch_fps)]
    for step, known in steps:
        upstream = upstream_digests(step, known)
        base = fingerprint_step(step, upstream, _hash).digest
        assert base == known[step.id].digest
        for f in type(step.params).fields():
            changed = dataclasses.replace(
                step.params, **{f.name: _perturb(getattr(step.params, f.name))}
            )
            other = dataclasses.replace(step, params=changed)
            digest = fingerprint_step(other, upstream, _hash).digest
            identity = f.name in type(step.params).identity_fields()
            assert (digest != base) == identity, f"{step.id}.{f.name} (identity={identity})"
            seen.add(f"{step.kind}.{f.name}")
    every = {f"{k}.{f.name}" for k, c in BUILTIN.items() for f in c.fields()}
    assert every <= seen, sorted(every - seen)


def test_spec_positions_are_not_identity(tmp_path: Path) -> None:
    """Moving every line of the spec (a comment on top) changes no fingerprint."""
    _, a = feed(tmp_path)
    _, b = feed(tmp_path, lambda t: "# a comment\n# another\n" + t)
    assert rerun(a, b) == set()
    assert strip_positions({"a": 1, "where": "x", "b": [{"where": "y", "c": 2}]}) == {
        "a": 1,
        "b": [{"c": 2}],
    }


def test_a_seed_change_reruns_every_stochastic_step_and_says_why(tmp_path: Path) -> None:
    plan, a = feed(tmp_path)
    _, b = feed(tmp_path, lambda t: t.replace("execution:\n", "execution:\n  seed: 11\n"))
    seeded = {s.id for s in plan.steps() if s.sources.get("seed") == "execution.seed"}
    assert {s.split(".")[0] for s in seeded} == {"trial", "train", "evaluate", "profile"}
    assert rerun(a, b) >= seeded
    for sid in seeded:
        reasons = explain(b[sid].parts, a[sid].parts, step_labels(plan.step(sid)))
        assert "spec path execution.seed changed" in reasons, (sid, reasons)


def test_a_resource_change_reruns_nothing(tmp_path: Path) -> None:
    _, a = feed(tmp_path)
    _, b = feed(
        tmp_path,
        lambda t: t.replace(
            "        params: {n_estimators: 200}\n",
            "        params: {n_estimators: 200}\n        resources: {num_cpus: 2, memory_gb: 1}\n",
        ),
    )
    assert rerun(a, b) == set()


def test_a_model_param_change_names_its_spec_path(tmp_path: Path) -> None:
    _, a = feed(tmp_path)
    _, b = feed(
        tmp_path, lambda t: t.replace("{C: 1.0, max_iter: 1000}", "{C: 0.5, max_iter: 1000}", 1)
    )
    assert rerun(a, b) >= {"train.quality.lr", "evaluate.quality.lr"}
    assert "train.engagement.lr" not in rerun(a, b)
    reasons = explain(b["train.quality.lr"].parts, a["train.quality.lr"].parts)
    assert reasons == ["spec path objectives.quality.models[lr].params.C changed"]


# ----------------------------------------------------------------------------- decoupling


def test_a_feature_one_objective_uses_reruns_only_that_objectives_models(tmp_path: Path) -> None:
    """`long_read` is used by quality (all features) and not by engagement (a feature list)."""
    plan, a = feed(tmp_path)
    _, b = feed(
        tmp_path,
        lambda t: t.replace("where(length_words >= 800, 1, 0)", "where(length_words >= 900, 1, 0)"),
    )
    changed = rerun(a, b)
    assert "features" in changed
    assert {s for s in changed if s.startswith(("train.", "trial."))} == {
        s.id for s in plan.steps() if s.kind in ("train", "trial") and ".quality." in s.id
    }
    assert not {s for s in changed if ".engagement." in s}
    assert "split" not in changed
    reasons = explain(b["features"].parts, a["features"].parts)
    assert reasons == ["spec path features[long_read].expr changed"]


def test_a_feature_no_objective_uses_retrains_nothing(tmp_path: Path) -> None:
    def add_unused(text: str) -> str:
        text = text.replace(
            "  - name: long_read\n",
            '  - name: unused\n    expr: "length_words * 2"\n  - name: long_read\n',
        )
        # quality lists its features too, so the new one is used by no objective
        return text.replace(
            "    task: binary\n    target: is_quality\n",
            "    task: binary\n    target: is_quality\n"
            "    features: [log_followers, topic, length_words, has_image, hour, long_read]\n",
        )

    _, a = feed(
        tmp_path,
        lambda t: add_unused(t).replace('  - name: unused\n    expr: "length_words * 2"\n', ""),
    )
    _, b = feed(tmp_path, add_unused)
    changed = rerun(a, b)
    assert "features" in changed
    assert not {s for s in changed if s.split(".")[0] in ("train", "trial", "evaluate", "select")}


def test_a_step_cannot_read_a_column_it_did_not_declare(tmp_path: Path) -> None:
    import polars as pl

    from mlspec.engine.views import ColumnsReader
    from mlspec.store import ArtifactStore

    store = ArtifactStore(tmp_path / "store")
    w = store.stage("ab" * 16, "features")
    w.write_frame(pl.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6], "y": [0, 1, 0]}), "data")
    store.commit(w)
    reader = ColumnsReader(store.open("ab" * 16), ("a", "y"))
    assert reader.scan().collect_schema().names() == ["a", "y"]
    assert reader.frame(columns=["a"]).to_series().to_list() == [1, 2, 3]
    with pytest.raises(KeyError, match="not among the columns this step declared"):
        reader.frame(columns=["b"])
    rows_only = ColumnsReader(store.open("ab" * 16), ())
    assert rows_only.scan().select(pl.len()).collect().item() == 3


# ----------------------------------------------------------------------------- inputs


COLLIDE = """
mlspec: 1
name: collide
data:
  sources:
    t: {path: t.csv}
  split: {method: random, test: 0.3, seed: 1}
features:
  - {name: x}
objectives:
  a_b:
    task: binary
    target: y1
    models: [{name: c, type: logistic_regression}]
  a:
    task: binary
    target: y2
    models: [{name: b_c, type: logistic_regression}]
combine:
  weights: {a_b: 0.5, a: 0.5}
"""


def test_objectives_whose_names_would_collide_as_strings_get_distinct_inputs(
    tmp_path: Path,
) -> None:
    plan, _ = plan_of(COLLIDE, tmp_path)
    combine = plan.step("combine")
    assert combine.inputs[("eval", "a_b", "c")] == "evaluate.a_b.c"
    assert combine.inputs[("eval", "a", "b_c")] == "evaluate.a.b_c"


def test_a_duplicate_input_key_is_refused_when_the_plan_is_built() -> None:
    with pytest.raises(PlanError, match="input eval/a/b is given twice"):
        inputs({("eval", "a", "b"): "s1"}, {("eval", "a", "b"): "s2"})
    assert inputs({("eval", "a", "b"): "s1"}, {("eval", "a", "b"): "s1"}) == {
        ("eval", "a", "b"): "s1"
    }


def test_external_reaches_the_load_step(tmp_path: Path) -> None:
    text = COLLIDE.replace("t: {path: t.csv}", "t: {path: ../t.csv, external: true}")
    plan, _ = plan_of(text, tmp_path)
    assert plan.step("load.t").params.external is True


# ----------------------------------------------------------------------------- code versions


def test_code_versions_cover_every_module_a_kind_imports() -> None:
    assert {
        "steps/train.py",
        "models/persist.py",
        "scoring/preprocess.py",
        "lang/model_types.py",
    } <= set(KINDS["train"].code)
    assert {"steps/package.py", "steps/gate.py", "store/artifacts.py"} <= set(KINDS["package"].code)
    assert "scoring/expressions.py" in KINDS["features"].code
    assert "evaluation/metrics.py" in KINDS["evaluate"].code
    for name in BUILTIN:
        kind = KINDS[name]
        assert f"steps/{kind.name}.py" in kind.code
        assert "steps/params.py" not in kind.code  # a kind's own fields are hashed by value


def test_libraries_are_derived_from_imports_including_by_name() -> None:
    from mlspec.lang.model_types import MODEL_TYPES
    from mlspec.models.estimators import DYNAMIC_IMPORTS

    assert {"scikit-learn", "xgboost", "numpy", "polars"} <= set(KINDS["train"].libraries)
    assert "xgboost" not in KINDS["features"].libraries
    packages = {
        e.path.split(".")[0]
        for m in MODEL_TYPES.values()
        for e in (m.classifier, m.regressor)
        if e is not None
    }
    assert packages <= set(DYNAMIC_IMPORTS), "list the package in estimators.DYNAMIC_IMPORTS"


def test_editing_a_helper_changes_the_code_version_of_the_kinds_that_import_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlspec.steps import kinds

    before = {k: code_version(k) for k in KINDS}
    real = Path.read_bytes

    def edited(self: Path) -> bytes:
        data = real(self)
        return data + b"\n# edited\n" if self.name == "preprocess.py" else data

    code_version.cache_clear()
    monkeypatch.setattr(Path, "read_bytes", edited)
    try:
        after = {k: kinds.code_version(k) for k in KINDS}
    finally:
        monkeypatch.undo()
        code_version.cache_clear()
    changed = {k for k in KINDS if before[k] != after[k]}
    assert changed == {k for k in KINDS if "scoring/preprocess.py" in KINDS[k].code}
    assert {"train", "trial", "evaluate"} <= changed and "load" not in changed


def test_params_round_trip_through_json(tmp_path: Path) -> None:
    plan, _ = feed(tmp_path)
    for step in plan.steps():
        cls: type[Params] = type(step.params)
        assert cls.from_json(step.params.to_json()) == step.params


def test_feed_ranking_example_a_feature_of_one_objective_reruns_only_its_models(
    tmp_path: Path,
) -> None:
    """The example's `long_read` is used by quality only (engagement lists its features)."""
    text = (ROOT / "examples" / "feed_ranking" / "spec.yaml").read_text()
    plan, a = plan_of(text, tmp_path, "a.yaml")
    _, b = plan_of(text.replace(">= 800", ">= 700"), tmp_path, "b.yaml")
    changed = rerun(a, b)
    objectives = {s.split(".")[1] for s in changed if s.split(".")[0] in ("train", "trial")}
    assert objectives == {"quality"}
    assert {s.id for s in plan.steps() if s.id.startswith("train.quality.")} <= changed


def test_a_reader_of_columns_is_told_which_column_changed(tmp_path: Path) -> None:
    plan, a = feed(tmp_path)
    _, b = feed(tmp_path, lambda t: t.replace("hour(posted_at)", "minute(posted_at)"))
    step = plan.step("train.engagement.lr")
    reasons = explain(b[step.id].parts, a[step.id].parts, step_labels(step))
    assert reasons == ["upstream features changed: columns hour"]
