"""JSON Schema of ``report.json`` (``varmigrate.verify/3``): one schema for every report of
``verify``, two scripts, pairs of folders or a proof (``verify --root``, ``fix --verify-with``).

Stable: fields are only ever added within a version; a removal or a change of meaning bumps the
schema id.  Version 2: the before run reads the program as ``--reference`` says (per pair
``reference``), ``shim`` explains each hit and lists the installed features, ``readings`` (the
legacy program under the other reading) and ``printed`` (stdout compared) are new notes, and
``first_divergence`` links its sites to the source.  Version 3: a proof's report is this report of
its final tree plus a ``prove`` object (the plain fix's verdicts, the search, the fixes kept back,
what was written); the other modes leave ``prove`` out.  ``docs/harness.md`` and ``docs/prove.md``
describe every field.
"""

from __future__ import annotations

from typing import Any

from .tiers import ALL, TIERS

_NUM = {"type": ["number", "null"]}
_VERDICT = {"enum": list(ALL)}
_TIER = {"enum": list(TIERS)}

_RUN: dict[str, Any] = {
    "type": "object",
    "required": ["status", "message", "events", "wall_s"],
    "properties": {
        "status": {"enum": ["ok", "exception", "exit", "crashed", "timeout", "error"]},
        "exit_code": {"type": ["integer", "null"]},
        "signal": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "frame": {"type": ["object", "null"], "properties": {
            "file": {"type": "string"}, "line": {"type": "integer"},
            "function": {"type": "string"}, "code": {"type": "string"}}},
        "events": {"type": "integer"},
        "wall_s": {"type": "number"}, "cpu_s": {"type": "number"}, "max_rss_mb": {"type": "number"},
        "shim_hits": {"type": "object", "additionalProperties": {"type": "integer"}},
        "stdout_tail": {"type": "string"}, "stderr_tail": {"type": "string"},
    },
}

_DIVERGENCE: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["event", "kind", "tensor", "field", "max_abs", "max_rel"],
    "properties": {
        "event": {"type": ["integer", "null"]}, "kind": {"type": "string"},
        "tensor": {"type": ["string", "null"]},
        "field": {"enum": ["value", "root", "grad", "final", "event"]},
        "verdict": _TIER, "max_abs": _NUM, "max_rel": _NUM,
        "mismatched": {"type": ["integer", "null"]}, "numel": {"type": ["integer", "null"]},
        "before_site": {"type": ["string", "null"]}, "after_site": {"type": ["string", "null"]},
        "before_file": {"type": ["string", "null"]}, "after_file": {"type": ["string", "null"]},
        "source": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["file", "line", "lines"],
            "properties": {"file": {"type": ["string", "null"]}, "line": {"type": "integer"},
                           "lines": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}}}}},
        "test": {"type": ["string", "null"]}, "note": {"type": "string"},
    },
}

_REFERENCE = {"enum": ["0.3", "modern"]}

_SHIM: dict[str, Any] = {
    "type": "object", "required": ["used", "total", "hits", "crash", "semantics", "features", "explained"],
    "properties": {
        "used": {"type": "boolean"}, "total": {"type": "integer"},
        "hits": {"type": "object", "additionalProperties": {"type": "integer"}},
        "crash": {"type": "object", "additionalProperties": {"type": "integer"}},
        "semantics": {"type": "object", "additionalProperties": {"type": "integer"}},
        "features": {"type": "array", "items": {"type": "string"}},
        "explained": {"type": "array", "items": {
            "type": "object", "required": ["hit", "count", "kind", "text"],
            "properties": {"hit": {"type": "string"}, "count": {"type": "integer"},
                           "kind": {"enum": ["crash", "semantics"]}, "text": {"type": "string"}}}},
    },
}

_READINGS: dict[str, Any] = {
    "type": "object", "required": ["reference", "other", "ran", "differs", "message"],
    "properties": {
        "reference": _REFERENCE, "other": _REFERENCE, "ran": {"type": "boolean"},
        "differs": {"type": ["boolean", "null"]}, "tier": {"anyOf": [_TIER, {"type": "null"}]},
        "first": {"anyOf": [_DIVERGENCE, {"type": "null"}]}, "events": {"type": "integer"},
        "message": {"type": "string"},
    },
}

_PRINTED: dict[str, Any] = {
    "type": "object", "required": ["compared", "note"],
    "properties": {
        "compared": {"type": "boolean"}, "same": {"type": "boolean"}, "note": {"type": "string"},
        "before_lines": {"type": "integer"}, "after_lines": {"type": "integer"}, "differing": {"type": "integer"},
        "first": {"type": ["object", "null"], "properties": {
            "before_line": {"type": ["integer", "null"]}, "after_line": {"type": ["integer", "null"]},
            "before": {"type": ["string", "null"]}, "after": {"type": ["string", "null"]}}},
    },
}

_PAIR: dict[str, Any] = {
    "type": "object",
    "required": ["name", "before", "after", "verdict", "ok", "reason", "reference", "first_divergence",
                 "determinism", "events", "tensors", "runs", "shim", "readings", "printed", "device", "gradcheck",
                 "loss", "warnings", "tests", "seconds"],
    "properties": {
        "name": {"type": "string"}, "before": {"type": "string"}, "after": {"type": "string"},
        "verdict": _VERDICT, "ok": {"type": "boolean"}, "reason": {"type": "string"},
        "note": {"type": "string"}, "reference": _REFERENCE,
        "first_divergence": _DIVERGENCE,
        "drilldown": {"type": ["object", "null"], "properties": {
            "before_ops": {"type": "integer"}, "after_ops": {"type": "integer"},
            "matched_ops": {"type": "integer"}, "change": {"enum": ["replace", "delete", "insert", "none"]},
            "before": {"type": "object"}, "after": {"type": "object"}, "summary": {"type": "string"}}},
        "determinism": {"type": "object", "required": ["checked", "identical"], "properties": {
            "checked": {"type": "boolean"}, "identical": {"type": ["boolean", "null"]},
            "tier": {"anyOf": [_TIER, {"type": "null"}]}}},
        "events": {"type": "object", "required": ["before", "after", "compared", "by_verdict"], "properties": {
            "before": {"type": "integer"}, "after": {"type": "integer"}, "compared": {"type": "integer"},
            "by_verdict": {"type": "object", "additionalProperties": {"type": "integer"}}}},
        "tensors": {"type": "array", "items": {
            "type": "object", "required": ["tensor", "field", "verdict", "first_event", "max_abs", "max_rel"],
            "properties": {"tensor": {"type": "string"}, "field": {"type": "string"}, "verdict": _TIER,
                           "first_event": {"type": ["integer", "null"]}, "max_abs": _NUM, "max_rel": _NUM,
                           "events": {"type": "integer"}, "note": {"type": "string"}}}},
        "runs": {"type": "object", "required": ["before", "after"], "properties": {
            "before": _RUN, "after": _RUN, "before_other": _RUN,
            "before_rerun": {"anyOf": [_RUN, {"type": "object", "maxProperties": 0}]}}},
        "shim": _SHIM,
        "readings": _READINGS,
        "printed": _PRINTED,
        "device": {"type": "object", "properties": {"resolved": {"type": ["string", "null"]},
                                                     "mapped": {"type": "object"}}},
        "gradcheck": {"type": "array", "items": {
            "type": "object", "required": ["function", "status"],
            "properties": {"function": {"type": "string"},
                           "status": {"enum": ["passed", "failed", "skipped"]},
                           "detail": {"type": "string"}, "fast_mode": {"type": "boolean"}}}},
        "loss": {"type": "object", "properties": {
            side: {"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                              "minItems": 2, "maxItems": 2}}
            for side in ("before", "after")}},
        "warnings": {"type": "object"},
        "tests": {"type": "array", "items": {"type": "object", "required": ["test"]}},
        "seconds": {"type": "number"},
    },
}

SCHEMA_ID = "varmigrate.verify/3"

_EVIDENCE = {"type": "object", "required": ["entry", "verdict", "reason"]}
_FINDING = {"type": "object", "required": ["path", "line", "column", "code"]}
# filled by `varmigrate.prove.report` (the harness only describes it)
PROVE: dict[str, Any] = {
    "type": "object",
    "required": ["status", "entries", "initial", "candidates", "probes", "target", "kept_back", "applied"],
    "properties": {
        "status": {"enum": ["proven", "not proven", "inconclusive"]},
        "reason": {"type": "string"},
        "entries": {"type": "array", "items": {"type": "string"}},
        "initial": {"type": "array", "items": _EVIDENCE},
        "candidates": {"type": "integer"},
        "kept": {"type": "integer"},
        "probes": {"type": "integer"},
        "target": {"type": "integer"},
        "after_runs": {"type": "integer"},
        "seconds": {"type": "number"},
        "device_note": {"type": ["string", "null"]},
        "kept_back": {"type": "array", "items": {
            "type": "object",
            "required": ["finding", "rule", "tried", "action", "now", "partners", "evidence", "probes"],
            "properties": {
                "finding": _FINDING, "rule": {"type": "string"}, "message": {"type": "string"},
                "tried": {"type": "string"}, "action": {"enum": ["downgraded", "left unfixed"]},
                "now": {"type": "string"}, "partners": {"type": "array", "items": _FINDING},
                "evidence": {"type": "array", "items": _EVIDENCE}, "probes": {"type": "integer"}}}},
        "applied": {"type": "object", "required": ["requested", "written", "files"], "properties": {
            "requested": {"type": "boolean"}, "written": {"type": "boolean"},
            "files": {"type": "array", "items": {"type": "string"}}, "patch": {"type": ["string", "null"]},
            "recovered": {"type": "string"}}},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "varmigrate verify report",
    "type": "object",
    "required": ["schema", "tool", "created", "environment", "summary", "pairs"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "tool": {"type": "object", "required": ["name", "version"]},
        "created": {"type": "string"},
        "environment": {"type": "object", "required": ["python", "torch", "executor", "seed", "threads",
                                                       "deterministic", "device", "timeout_s", "reference"],
                        "properties": {"reference": _REFERENCE}},
        "summary": {"type": "object", "required": ["pairs", "passed", "counts", "seconds", "legacy_differs"],
                    "properties": {
                        "pairs": {"type": "integer"}, "passed": {"type": "boolean"},
                        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "seconds": {"type": "number"}, "legacy_differs": {"type": "integer"}}},
        "pairs": {"type": "array", "items": _PAIR},
        "prove": PROVE,
    },
}
