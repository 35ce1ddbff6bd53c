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
    # many rows skip the object matrix and the ColumnTransformer (batchpath), to the same bits
    assert all(o.batch is not None for o in scorer.objectives.values())
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
    # The exit code follows the kind of error, not its wording: a damaged bundle is a
    # failure (1) for predict and serve; a path that is no bundle at all is a usage error (2).
    rows.write_parquet(tmp_path / "rows.parquet")
    for command in (["predict"], ["serve", "--port", "0"]):
        extra = ["--input", str(tmp_path / "rows.parquet"), "--output", str(tmp_path / "o.parquet")]
        args = [*command, str(evil), *(extra if command == ["predict"] else [])]
        damaged = cli(*args)
        assert damaged.returncode == 1, damaged.stderr
        assert "does not list" in damaged.stderr and "Traceback" not in damaged.stderr
        absent = cli(
            *command, str(tmp_path / "nowhere"), *(extra if command == ["predict"] else [])
        )
        assert absent.returncode == 2, absent.stderr
        assert "does not exist" in absent.stderr
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


def test_predict_refuses_a_keep_column_the_output_already_has(served: Path, tmp_path: Path) -> None:
    """`--keep score` (an input column named like an output column) or a column kept twice
    was a polars DuplicateError traceback; it is a usage error that names the column."""
    posts = pl.read_parquet(served.parent / "data/posts.parquet").with_columns(score=1)
    posts.write_parquet(tmp_path / "in.parquet")
    for keep, word in ((["score"], "'score'"), (["post_id", "post_id"], "given twice")):
        flags = [x for k in keep for x in ("--keep", k)]
        args = ("--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "o.csv"))
        bad = cli("predict", str(served), *args, *flags)
        assert bad.returncode == 2 and word in bad.stderr and "Traceback" not in bad.stderr


def test_quickstart_batch_deployment_writes_its_scores_during_run(quickstart: Path) -> None:
    out = quickstart.parent / "scores.parquet"
    out.unlink(missing_ok=True)  # another test may have run the shared example copy
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


# ----------------------------------------------------------------------------- serving


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(port: int, method: str, path: str, body: bytes | None = None, ctype: str | None = None):  # type: ignore[no-untyped-def]
    import http.client

    con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": ctype} if ctype else {}
    con.request(method, path, body=body, headers=headers)
    r = con.getresponse()
    data = r.read()
    con.close()
    return r.status, data


def _post(port: int, path: str, doc: object) -> tuple[int, dict]:
    status, data = _http(port, "POST", path, json.dumps(doc).encode(), "application/json")
    return status, json.loads(data)


@pytest.fixture(scope="module")
def server(served: Path):  # type: ignore[no-untyped-def]
    """`mlspec serve` of the served spec on a free loopback port, stopped at the end."""
    import time

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlspec", "serve", str(served), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _http(port, "GET", "/v2/health/ready")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1]
    else:
        proc.kill()
        pytest.fail("the server did not get ready in 120 s")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


ROWS = {
    "author_followers": [120, None, 5000],
    "topic": ["tech", "sports", "news"],
    "length_words": [300, 1200, 50],
    "has_image": [True, False, True],
    "posted_at": ["2024-05-01T08:30:00", "2024-05-02T21:00:00", "2024-05-03T00:15:00"],
}


def _frame() -> pl.DataFrame:
    return pl.DataFrame(ROWS).with_columns(pl.col("posted_at").str.to_datetime(time_unit="us"))


def test_tritonclient_and_mlflow_answers_equal_predict(
    served: Path, server: int, tmp_path: Path
) -> None:
    import tritonclient.http as httpclient

    _frame().write_parquet(tmp_path / "rows.parquet")
    cli(
        "predict",
        str(served),
        "--input",
        str(tmp_path / "rows.parquet"),
        "--output",
        str(tmp_path / "out.parquet"),
        check=True,
    )
    expected = pl.read_parquet(tmp_path / "out.parquet")

    client = httpclient.InferenceServerClient(f"127.0.0.1:{server}")
    assert client.is_server_live() and client.is_model_ready("feed_ranking")
    meta = client.get_model_metadata("feed_ranking")
    assert [i["name"] for i in meta["inputs"]] == list(ROWS)
    types = {"author_followers": "INT64", "length_words": "INT64", "has_image": "BOOL"}
    inputs = []
    for name, values in ROWS.items():
        dtype = types.get(name, "BYTES")
        inp = httpclient.InferInput(name, [len(values)], dtype)
        if name == "author_followers":
            inp._data = values  # a null is no numpy value; the JSON body carries it as null
            inp._raw_data = None
        else:
            arr = np.array(values, dtype=object if dtype == "BYTES" else None)
            inp.set_data_from_numpy(arr, binary_data=False)
        inputs.append(inp)
    outputs = [
        httpclient.InferRequestedOutput(c, binary_data=False) for c in ("score", "score_quality")
    ]
    result = client.infer("feed_ranking", inputs, outputs=outputs)
    assert result.as_numpy("score").tolist() == expected["score"].to_list()
    assert result.as_numpy("score_quality").tolist() == expected["score_quality"].to_list()

    names = list(ROWS)
    split = {
        "dataframe_split": {
            "columns": names,
            "data": [list(r) for r in zip(*ROWS.values(), strict=True)],
        }
    }
    records = [dict(zip(names, r, strict=True)) for r in zip(*ROWS.values(), strict=True)]
    for doc in (split, {"dataframe_records": records}, {"instances": records}, {"instances": ROWS}):
        status, answer = _post(server, "/invocations", doc)
        assert status == 200, answer
        assert [p["score"] for p in answer["predictions"]] == expected["score"].to_list()
    # One row per request (the row path) answers the same bits as predict's three-row file,
    # the logistic regression's score too (BLAS alone gave a one-row product other bits).
    for i, record in enumerate(records):
        status, answer = _post(server, "/invocations", {"dataframe_records": [record]})
        assert status == 200, answer
        (one,) = answer["predictions"]
        for column in ("raw_engagement", "raw_quality", "score"):
            assert one[column] == expected[column][i], (i, column)


def _v2(rows: dict, **extra: object) -> dict:
    types = {"author_followers": "INT64", "length_words": "INT64", "has_image": "BOOL"}
    return {
        "inputs": [
            {"name": k, "shape": [len(v)], "datatype": types.get(k, "BYTES"), "data": v}
            for k, v in rows.items()
        ],
        **extra,
    }


def test_per_request_weights_are_answered_and_reported(server: int) -> None:
    status, plain = _post(server, "/v2/models/feed_ranking/infer", _v2(ROWS))
    assert status == 200 and plain["parameters"]["weights"] == {"quality": 0.7, "engagement": 0.3}
    weights = {"quality": 0.2, "engagement": 0.8}
    status, other = _post(
        server, "/v2/models/feed_ranking/infer", _v2(ROWS, parameters={"weights": weights})
    )
    assert status == 200 and other["parameters"]["weights"] == weights
    out = {o["name"]: o["data"] for o in other["outputs"]}
    assert out["score"] == [
        0.8 * e + 0.2 * q
        for e, q in zip(out["score_engagement"], out["score_quality"], strict=True)
    ]


BAD = [
    ({k: v for k, v in ROWS.items() if k != "topic"}, 400, "topic"),
    ({**ROWS, "length_words": ["long", 1, 2]}, 400, "length_words"),
    ({**ROWS, "topic": ["tech", "astrology", "tech"]}, 400, "topic"),
    ({**ROWS, "posted_at": ["yesterday", "x", "y"]}, 400, "posted_at"),
    ({**ROWS, "length_words": [1, 2]}, 400, "length_words"),
]


def test_client_mistakes_get_4xx_naming_the_field(server: int) -> None:
    for rows, code, field in BAD:
        status, answer = _post(server, "/v2/models/feed_ranking/infer", _v2(rows))
        assert (status, answer["field"]) == (code, field), answer
        assert field in answer["error"]
    path = "/v2/models/feed_ranking/infer"
    nan = json.dumps(_v2({**ROWS, "author_followers": [1, 2, 3]})).replace(
        "[1, 2, 3]", "[1, NaN, 3]"
    )
    cases = [
        ("POST", path, nan.encode(), "application/json", 400, "not_finite"),
        ("POST", path, b"{not json", "application/json", 400, "malformed"),
        ("POST", path, b"{}", "text/plain", 415, "content_type"),
        ("POST", path, b"x" * (2 << 20), "application/json", 413, "too_large"),
        ("POST", "/v2/models/other/infer", b"{}", "application/json", 404, "not_found"),
        ("POST", "/invocations", b'{"dataframe_split": 3}', "application/json", 400, None),
        (
            "POST",
            "/invocations",
            b'{"instances": [{"topic": "tech"}]}',
            "application/json",
            400,
            None,
        ),
        ("GET", "/nowhere", None, None, 404, "not_found"),
        ("GET", "/invocations", None, None, 405, "method_not_allowed"),
    ]
    for method, p, body, ctype, code, kind in cases:
        status, data = _http(server, method, p, body, ctype)
        answer = json.loads(data)
        assert status == code, (p, answer)
        assert kind is None or answer["kind"] == kind
    status, data = _http(server, "GET", "/metrics")
    text = data.decode()
    assert status == 200 and 'mlspec_model_info{name="feed_ranking",version="1"} 1' in text
    assert (
        'mlspec_errors_total{kind="too_large"} 1' in text
        and "mlspec_request_seconds_bucket" in text
    )
    assert 'code="500"' not in text


def _pipeline_scorer(spec: Path):  # type: ignore[no-untyped-def]
    """The same bundle scored through polars and the scikit-learn Pipelines only."""
    scorer = mlspec.load(str(spec))
    scorer.row = None
    for o in scorer.objectives.values():
        o.row = None
    return scorer


def test_one_row_path_equals_the_pipeline_row_by_row(served: Path) -> None:
    """A one-row frame (and one row of JSON values) goes the row path, never a polars
    frame; every output column equals the frame + Pipeline path on the same row to the
    last bit, nulls, other weights and strict checks included. The XGBoost objective's
    scores also equal the combine step's (a tree ensemble scores each row alike however
    many rows it is given; a linear model's BLAS product may differ in the last bit
    between a one-row and a many-row call, in scikit-learn itself)."""
    scorer, slow = mlspec.load(str(served)), _pipeline_scorer(served)
    assert scorer.row is not None and all(f[1] is not None for f in scorer.row.features)
    posts = pl.read_parquet(served.parent / "data/posts.parquet")
    rows = posts.head(400)
    assert rows["author_followers"].null_count() > 0  # imputed nulls are covered
    weights = {"quality": 0.25, "engagement": 1.5}
    for i in range(rows.height):
        one = rows[i : i + 1]
        fast, want = scorer.predict(one), slow.predict(one)
        assert fast.rows() == want.rows(), i
        assert (
            scorer.predict(one, weights=weights).rows() == slow.predict(one, weights=weights).rows()
        )
        r = one.row(0, named=True)
        columns = {c["name"]: [r[c["name"]]] for c in scorer.signature()}
        columns["posted_at"] = [r["posted_at"].isoformat()]
        got = scorer.score_columns(columns, strict=True)
        frame = slow.columns(slow.frame_from_columns(columns), strict=True)
        assert got == {k: v.tolist() for k, v in frame.items()}, i
    # A feature the row evaluator does not compile, or a value it is unsure of, is
    # computed by polars for that row: the same answers.
    from mlspec.scoring.rowexpr import Fallback

    def unsure(row: object) -> object:
        raise Fallback

    assert scorer.row is not None
    compiled = scorer.row.features
    for fn in (None, unsure):
        scorer.row.features = [(n, fn, e) for n, _, e in compiled]
        for i in range(0, rows.height, 8):
            assert scorer.predict(rows[i : i + 1]).rows() == slow.predict(rows[i : i + 1]).rows()
    scorer.row.features = compiled
    expected = combine_scores(served)
    test_rows = posts[expected["row"].to_numpy()]
    for i in range(0, test_rows.height, 7):
        got = scorer.predict(test_rows[i : i + 1])
        assert got["score_quality"][0] == expected["score_quality"][i], i


MULTICLASS_REGRESSION = """\
mlspec: 1
name: mcreg
problem: {goal: One-row scores of multiclass and regression objectives, task: multiclass}
data:
  sources:
    rows:
      path: data/rows.parquet
      columns: {x1: float, x2: float, c: str, y3: int, r: float}
  split: {method: random, test: 0.2, seed: 1}
features:
  - {name: x1, impute: median, scale: standard}
  - {name: lx2, expr: "log1p(x2)", scale: minmax}
  - {name: c, type: categorical}
  - {name: both, expr: "where(x1 > 0, x2 * 2, -x2)", impute: mean}
objectives:
  cls:
    task: multiclass
    target: y3
    metrics: [log_loss]
    select_by: log_loss
    models: [{name: lr, type: logistic_regression, params: {max_iter: 500}}]
  reg:
    task: regression
    target: r
    metrics: [rmse]
    select_by: rmse
    models: [{name: ridge, type: ridge}]
combine:
  method: weighted_sum
  weights: {cls: 0.5, reg: 0.5}
  scale: {cls: rank, reg: minmax}
"""


def test_one_row_path_for_multiclass_and_regression(tmp_path: Path) -> None:
    """A multiclass logistic regression (softmax) and a ridge regression, with imputed
    nulls and expressions: the row path equals the Pipeline path row by row."""
    rng = np.random.default_rng(0)
    n = 1500
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, size=n)
    (tmp_path / "data").mkdir()
    pl.DataFrame(
        {
            "x1": [None if rng.random() < 0.05 else float(v) for v in x1],
            "x2": x2,
            "c": rng.choice(["a", "b", "c", "d"], size=n).tolist(),
            "y3": np.digitize(x1 + 0.3 * x2 + rng.normal(size=n), [1.0, 2.5]),
            "r": 2 * x1 - x2 + rng.normal(size=n),
        },
        schema_overrides={"x1": pl.Float64},
    ).write_parquet(tmp_path / "data/rows.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text(MULTICLASS_REGRESSION)
    cli("run", str(spec), check=True)
    cli("models", "promote", "mcreg", "1", "--store", str(tmp_path / ".mlspec"), check=True)
    scorer, slow = mlspec.load(str(spec)), _pipeline_scorer(spec)
    assert scorer.row is not None and all(f[1] is not None for f in scorer.row.features)
    rows = pl.read_parquet(tmp_path / "data/rows.parquet").head(300)
    for i in range(rows.height):
        assert scorer.predict(rows[i : i + 1]).rows() == slow.predict(rows[i : i + 1]).rows(), i


ONE_ROW_BAD = [
    ({**ROWS, "topic": ["astrology"]}, "topic", "unseen_category"),
    ({**ROWS, "length_words": [True]}, "length_words", "wrong_type"),
    ({**ROWS, "length_words": ["long"]}, "length_words", "wrong_type"),
    ({**ROWS, "posted_at": ["2024-02-30T00:00:00"]}, "posted_at", "wrong_type"),
    ({**ROWS, "posted_at": ["yesterday"]}, "posted_at", "wrong_type"),
    ({k: v for k, v in ROWS.items() if k != "has_image"}, "has_image", "missing_column"),
    ({**ROWS, "author_followers": [1, 2]}, "topic", "shape"),  # the next column disagrees
]


def test_one_row_requests_answer_as_the_pipeline_and_refuse_mistakes(
    served: Path, server: int
) -> None:
    slow = _pipeline_scorer(served)
    for i in range(3):
        one = {k: [v[i]] for k, v in ROWS.items()}
        want = slow.predict(_frame()[i : i + 1])
        status, answer = _post(server, "/v2/models/feed_ranking/infer", _v2(one))
        assert status == 200, answer
        out = {o["name"]: o["data"] for o in answer["outputs"]}
        for column in slow.output_columns():
            assert out[column] == want[column].to_list(), (i, column)
        records = [{k: v[0] for k, v in one.items()}]
        status, answer = _post(server, "/invocations", {"dataframe_records": records})
        assert status == 200 and answer["predictions"][0]["score"] == want["score"][0]
    for rows, field, kind in ONE_ROW_BAD:
        one = {k: v[:1] if len(v) == 3 else v for k, v in rows.items()}
        status, answer = _post(server, "/v2/models/feed_ranking/infer", _v2(one))
        assert (status, answer["field"], answer["kind"]) == (400, field, kind), answer
    nan = json.dumps({"instances": [{**{k: v[0] for k, v in ROWS.items()}, "author_followers": 1}]})
    status, data = _http(
        server,
        "POST",
        "/invocations",
        nan.replace('"author_followers": 1', '"author_followers": NaN').encode(),
        "application/json",
    )
    assert status == 400 and json.loads(data)["kind"] == "not_finite"
    huge = {**{k: v[:1] for k, v in ROWS.items()}, "author_followers": [2**70]}
    status, answer = _post(server, "/v2/models/feed_ranking/infer", _v2(huge))
    assert 400 <= status < 500 or status == 200, answer  # never a 5xx


def test_promote_and_rollback_switch_the_served_version_live(served: Path, server: int) -> None:
    import time

    store = served.parent / ".mlspec"
    text = served.read_text()
    served.write_text(
        text.replace("quality: 0.7", "quality: 0.6").replace("engagement: 0.3", "engagement: 0.4")
    )
    try:
        cli("run", str(served), check=True)  # weights only: a new version, no model refitted
    finally:
        served.write_text(text)

    def version() -> str:
        return _post(server, "/v2/models/feed_ranking/infer", _v2(ROWS))[1]["model_version"]

    def wait_for(v: str) -> None:
        deadline = time.monotonic() + 30
        while version() != v:
            assert time.monotonic() < deadline, f"still serving {version()}, not {v}"
            time.sleep(0.2)

    cli("models", "promote", "feed_ranking", "2", "--store", str(store), check=True)
    wait_for("2")
    _status, answer = _post(server, "/v2/models/feed_ranking/infer", _v2(ROWS))
    assert answer["parameters"]["weights"] == {"quality": 0.6, "engagement": 0.4}
    cli("models", "rollback", "feed_ranking", "--store", str(store), check=True)
    wait_for("1")


def test_ray_serve_answers_the_same_requests(served: Path, server: int, ray_session) -> None:  # type: ignore[no-untyped-def]
    """The ray_serve target on a real local Ray: V2 and MLflow answers equal the REST server's."""
    import time

    from ray import serve

    from mlspec.serving.ray_serve import deployment

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(
            deployment(str(served), None, {"num_replicas": 1, "num_cpus": 0.5}),
            name="mlspec",
            route_prefix="/feed",
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if _http(port, "GET", "/feed/v2/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "Ray Serve did not get ready in 120 s"
            time.sleep(0.5)
        for path, doc in (
            ("/v2/models/feed_ranking/infer", _v2(ROWS)),
            ("/invocations", {"instances": ROWS}),
        ):
            status, via_ray = _post(port, "/feed" + path, doc)
            assert status == 200, via_ray
            assert via_ray == _post(server, path, doc)[1]
        status, answer = _post(
            port, "/feed/v2/models/feed_ranking/infer", _v2({**ROWS, "topic": [1, 2, 3]})
        )
        assert status == 400 and answer["field"] == "topic"
    finally:
        serve.shutdown()


def test_rest_workers_each_serve_the_bundle(served: Path) -> None:
    """rest.workers > 1: uvicorn worker processes, each building its own app."""
    import time

    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlspec",
            "serve",
            str(served),
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _http(port, "GET", "/v2/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.3)
        for _ in range(4):
            status, answer = _post(port, "/v2/models/feed_ranking/infer", _v2(ROWS))
            assert status == 200 and answer["model_version"] == "1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ray_serve_refuses_a_request_log_before_making_its_folder(
    served: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    proc = cli("serve", str(served), "--target", "ray_serve", "--log-requests", str(folder))
    assert proc.returncode == 2 and "rest target only" in proc.stderr, proc.stderr
    assert not folder.exists()
