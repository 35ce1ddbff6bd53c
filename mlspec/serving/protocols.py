"""Request bodies of the two scoring protocols -> columns of JSON values, and answers back.

- KServe V2 / Open Inference Protocol: ``{"inputs": [{"name", "shape", "datatype",
  "data"}], "parameters": {"weights": {...}}}``, one input per signature column; datatypes
  INT64 (int), FP64/FP32 (float; integers accepted), BOOL (bool), BYTES (str, date,
  datetime as ISO 8601 text). The answer holds one FP64 output per scorer column.
- MLflow's scoring format (``/invocations``): ``dataframe_split`` ({columns, data}),
  ``dataframe_records`` ([{col: value}]) or ``instances`` ([{col: value}] or {col: [values]});
  the answer is ``{"predictions": [{column: value}]}``.

Every problem is an `InputError` naming the field, answered 400 by the server.
"""

from __future__ import annotations

from typing import Any

from mlspec.scoring.scorer import InputError

# Logical input type -> the V2 datatypes accepted for it (the first is the one advertised).
V2_TYPES: dict[str, tuple[str, ...]] = {
    "int": ("INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"),
    "float": ("FP64", "FP32", "FP16", "INT64", "INT32"),
    "bool": ("BOOL",),
    "str": ("BYTES",),
    "date": ("BYTES",),
    "datetime": ("BYTES",),
}


def _flat(data: Any, name: str) -> list[Any]:
    """V2 data may be flat or nested row-major (shape [n, 1]): flatten one level."""
    if not isinstance(data, list):
        raise InputError(f"input '{name}': data must be a list.", name)
    if data and all(isinstance(v, list) for v in data):
        if any(len(v) != 1 for v in data):
            raise InputError(f"input '{name}': each row must hold one value (shape [n, 1]).", name)
        return [v[0] for v in data]
    return data


def v2_columns(body: Any, signature: list[dict[str, Any]]) -> dict[str, list[Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise InputError("the request must be an object with an 'inputs' list.", "inputs")
    kinds = {c["name"]: c["type"] for c in signature}
    out: dict[str, list[Any]] = {}
    for i, item in enumerate(body["inputs"]):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InputError(f"inputs[{i}] must be an object with a 'name'.", f"inputs[{i}]")
        name = item["name"]
        if name not in kinds:
            raise InputError(
                f"input '{name}' is not an input of the model; inputs: {', '.join(kinds)}",
                name,
                "unknown_input",
            )
        datatype = item.get("datatype")
        allowed = V2_TYPES[kinds[name]]
        if datatype not in allowed:
            raise InputError(
                f"input '{name}' must have datatype {' or '.join(allowed)}. Got {datatype!r} instead.",
                name,
                "wrong_type",
            )
        values = _flat(item.get("data"), name)
        shape = item.get("shape")
        if not isinstance(shape, list) or not shape or shape[0] != len(values):
            raise InputError(
                f"input '{name}': shape must start with the number of values ({len(values)}). Got {shape!r} instead.",
                name,
                "shape",
            )
        if kinds[name] == "float":
            values = [v if v is None or isinstance(v, bool) else _number(v) for v in values]
        out[name] = values
    return out


def _number(v: Any) -> Any:
    return float(v) if isinstance(v, int) else v


def v2_answer(
    name: str, version: str, scored: dict[str, list[float]], weights: dict[str, float], rid: Any
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "model_name": name,
        "model_version": version,
        "outputs": [
            {"name": col, "datatype": "FP64", "shape": [len(vals)], "data": vals}
            for col, vals in scored.items()
        ],
        "parameters": {"weights": weights},
    }
    if rid is not None:
        answer["id"] = rid
    return answer


def mlflow_columns(body: Any, signature: list[dict[str, Any]]) -> dict[str, list[Any]]:
    if not isinstance(body, dict):
        raise InputError("the request must be a JSON object.", None, "malformed")
    keys = [k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body]
    if len(keys) != 1:
        raise InputError(
            "the request must hold exactly one of dataframe_split, dataframe_records, instances.",
            None,
            "malformed",
        )
    key = keys[0]
    value = body[key]
    names = [c["name"] for c in signature]
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
            raise InputError("dataframe_split must hold 'columns' and 'data'.", "dataframe_split")
        columns, data = value["columns"], value.get("data")
        if not isinstance(data, list) or any(
            not isinstance(r, list) or len(r) != len(columns) for r in data
        ):
            raise InputError(
                f"dataframe_split.data must be a list of rows of {len(columns)} values.",
                "dataframe_split.data",
            )
        return {c: [r[j] for r in data] for j, c in enumerate(columns) if isinstance(c, str)}
    if isinstance(value, dict):  # instances as {column: [values]}
        return {k: v for k, v in value.items()}
    if not isinstance(value, list) or any(not isinstance(r, dict) for r in value):
        raise InputError(f"{key} must be a list of records {{column: value}}.", key)
    return {n: [r.get(n) if n in r else _Missing for r in value] for n in names} | {
        "__missing__": [n for n in names if any(n not in r for r in value)]  # type: ignore[dict-item]
    }


class _Missing:
    """A record without a column: reported as a missing column, not as a null."""


def records_missing(columns: dict[str, Any]) -> None:
    missing = columns.pop("__missing__", [])
    if missing:
        raise InputError(
            f"input column '{missing[0]}' is missing from a record.", missing[0], "missing_column"
        )


def mlflow_answer(scored: dict[str, list[Any]]) -> dict[str, Any]:
    names = list(scored)
    n = len(scored[names[0]]) if names else 0
    return {"predictions": [{k: scored[k][i] for k in names} for i in range(n)]}
