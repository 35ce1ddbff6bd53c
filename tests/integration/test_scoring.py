"""The bundle API end to end: `mlspec.load` of a spec or an exported folder scores rows the
way the combine step did, and refuses a bundle that is not what the registry holds."""

from __future__ import annotations

import glob
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import mlspec
from mlspec.scoring.bundle import BundleError, manifest
from mlspec.scoring.scorer import InputError
from tests.conftest import mlspec as cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(examples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The feed-ranking example run once (rank and minmax scales, so the reference matters),
    version 1 promoted. Read-only for the tests: copy before changing."""
    dest = tmp_path_factory.mktemp("served") / "feed_ranking"
    shutil.copytree(examples_dir / "feed_ranking", dest, ignore=shutil.ignore_patterns(".mlspec"))
    spec = dest / "spec.yaml"
    text = spec.read_text()
    spec.write_text(
        text.replace(
            "    engagement: 0.3\n",
            "    engagement: 0.3\n  scale: {quality: minmax, engagement: rank}\n",
        )
    )
    cli("run", str(spec), check=True)
    cli("models", "promote", "feed_ranking", "1", "--store", str(dest / ".mlspec"), check=True)
    return spec


def combine_scores(spec: Path) -> pl.DataFrame:
    (path,) = glob.glob(str(spec.parent / ".mlspec/objects/*/*/scores.parquet"))
    return pl.read_parquet(path)


def test_load_scores_the_test_rows_as_the_combine_step_did(served: Path) -> None:
    scorer = mlspec.load(str(served))
    assert scorer.version == "1" and scorer.name == "feed_ranking"
    assert [c["name"] for c in scorer.signature()] == [
        "author_followers",
        "topic",
        "length_words",
        "has_image",
        "posted_at",
    ]
    expected = combine_scores(served)
    rows = pl.read_parquet(served.parent / "data/posts.parquet")[expected["row"].to_numpy()]
    got = scorer.predict(rows)
    for column in ("score_quality", "score_engagement", "score"):
        assert np.array_equal(got[column].to_numpy(), expected[column].to_numpy()), column
    assert set(got["version"].to_list()) == {"1"}
    # other weights: the same scaled scores, summed again
    other = scorer.predict(rows, weights={"quality": 0.5, "engagement": 0.5})
    assert np.array_equal(
        other["score"].to_numpy(),
        0.5 * expected["score_engagement"].to_numpy() + 0.5 * expected["score_quality"].to_numpy(),
    )


def test_bad_rows_are_input_errors_naming_the_column(served: Path) -> None:
    scorer = mlspec.load(str(served))
    rows = pl.read_parquet(served.parent / "data/posts.parquet").head(3)
    with pytest.raises(InputError, match="'topic'") as info:
        scorer.predict(rows.drop("topic"))
    assert info.value.field == "topic" and info.value.kind == "missing_column"
    with pytest.raises(InputError, match="'length_words'"):
        scorer.predict(rows.with_columns(pl.lit("long").alias("length_words")))
    unseen = rows.with_columns(pl.lit("astrology").alias("topic"))
    scorer.predict(unseen)  # batch scoring takes an unseen category (encoded as none)
    with pytest.raises(InputError, match=r"'topic'.*astrology") as info:
        scorer.predict(unseen, strict=True)
    assert info.value.kind == "unseen_category"


def test_no_production_version_is_a_clear_error(served: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no production version") as info:
        mlspec.load(str(served), store=str(tmp_path / "empty"))
    assert "mlspec run" in (info.value.hint or "")


def test_exported_bundle_loads_and_tampering_is_refused(served: Path, tmp_path: Path) -> None:
    store = served.parent / ".mlspec"
    out = tmp_path / "v1"
    cli("models", "export", "feed_ranking", "1", str(out), "--store", str(store), check=True)
    rows = pl.read_parquet(served.parent / "data/posts.parquet").head(5)
    a = mlspec.load(str(out)).predict(rows)
    b = mlspec.load(str(out), store=str(store)).predict(rows)
    assert a["score"].to_list() == b["score"].to_list() and b["version"][0] == "1"
    ok = cli("models", "verify", str(out), "--store", str(store))
    assert ok.returncode == 0 and "registered as feed_ranking version 1" in ok.stdout

    # A swapped pickle with its digest recomputed: the manifest no longer is the registry's.
    evil = tmp_path / "evil"
    shutil.copytree(out, evil)
    pickle = next(evil.glob("objectives/quality/model/pipeline.joblib"))
    pickle.write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    (evil / "MANIFEST.json").write_text(json.dumps(manifest(evil)), encoding="utf-8")
    with pytest.raises(BundleError, match="claims to be feed_ranking version 1"):
        mlspec.load(str(evil), store=str(store))
    bad = cli("models", "verify", str(evil), "--store", str(store))
    assert bad.returncode == 1 and "not the one registered" in bad.stderr

    # A changed file under an unchanged manifest is refused without any registry.
    shutil.rmtree(evil)
    shutil.copytree(out, evil)
    next(evil.glob("objectives/engagement/model.json")).write_text("{}")
    with pytest.raises(BundleError, match="does not match its digest"):
        mlspec.load(str(evil))
    # So is a file the manifest does not list.
    shutil.rmtree(evil)
    shutil.copytree(out, evil)
    (evil / "objectives" / "extra.joblib").write_bytes(b"x")
    with pytest.raises(BundleError, match=r"does not list: objectives/extra\.joblib"):
        mlspec.load(str(evil))
    # The manifest's sha256 is what the registry records (anyone can check with sha256sum).
    sha = hashlib.sha256((out / "MANIFEST.json").read_bytes()).hexdigest()
    assert json.loads((out / "version.json").read_text())["bundle_sha"] == sha


def test_import_mlspec_is_light() -> None:
    code = (
        "import sys, mlspec; assert callable(mlspec.load);"
        "print(sorted(m for m in ('polars','numpy','sklearn','xgboost') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_predict_streams_every_format_to_the_same_scores(served: Path, tmp_path: Path) -> None:
    posts = pl.read_parquet(served.parent / "data/posts.parquet")
    posts.write_csv(tmp_path / "in.csv")
    posts.write_ndjson(tmp_path / "in.ndjson")
    expected = mlspec.load(str(served)).predict(posts)
    for source, out, chunk in (
        ("in.csv", "a.parquet", "700"),  # several chunks, the last one short
        ("in.ndjson", "b.csv", "200000"),
    ):
        proc = cli(
            "predict",
            str(served),
            "--input",
            str(tmp_path / source),
            "--output",
            str(tmp_path / out),
            "--keep",
            "post_id",
            "--chunk-rows",
            chunk,
        )
        assert proc.returncode == 0, proc.stderr
        got = (pl.read_parquet if out.endswith("parquet") else pl.read_csv)(tmp_path / out)
        assert got["post_id"].to_list() == posts["post_id"].to_list()
        assert got["score"].to_list() == expected["score"].to_list(), source
    bad = cli("predict", str(served), "--input", str(tmp_path / "in.csv"), "--output", "x.txt")
    assert bad.returncode == 1 and "must end in .parquet or .csv" in bad.stderr
    posts.drop("topic").write_parquet(tmp_path / "no_topic.parquet")
    bad = cli(
        "predict", str(served), "--input", str(tmp_path / "no_topic.parquet"), "--output", "x.csv"
    )
    assert bad.returncode == 1 and "'topic'" in bad.stderr and "Traceback" not in bad.stderr


def test_quickstart_batch_deployment_writes_its_scores_during_run(quickstart: Path) -> None:
    out = quickstart.parent / "scores.parquet"
    first = cli("run", str(quickstart), check=True)
    assert out.is_file() and "wrote" in first.stderr
    scores = pl.read_parquet(out)
    data = pl.read_parquet(quickstart.parent / "data/breast_cancer.parquet")
    assert scores.height == data.height
    cli("models", "promote", "quickstart", "1", "--store", str(quickstart.parent / ".mlspec"))
    again = mlspec.load(str(quickstart)).predict(data)
    assert scores["score"].to_list() == again["score"].to_list()
    out.unlink()  # a cached score step restores the file
    cli("run", str(quickstart), check=True)
    assert pl.read_parquet(out)["score"].to_list() == scores["score"].to_list()
