"""The legacy program under both readings, 0.3 and modern torch (torch-free).

When the reference run used a construct whose 0.3 meaning modern torch silently changed
(``volatile``, ``w.data.resize_()``), one more before run reads the same program the other way.
If the two traces differ, the unmigrated program already computes something else on modern torch
than it did on 0.3: a finding users need even if they never migrate.  It is reported beside the
verdict, which is always decided against the chosen reference.
"""

from __future__ import annotations

from typing import Any, Optional

from .compare import Trace, compare_traces
from .spec import RunResult
from .tiers import Tier
from .verdict import describe


def other(reference: str) -> str:
    return "modern" if reference == "0.3" else "0.3"


def not_run(reference: str, why: str) -> dict[str, Any]:
    return {"reference": reference, "other": other(reference), "ran": False, "differs": None, "tier": None,
            "first": None, "message": why}


def _sides(note: str) -> str:
    """A comparison note speaks of "before" and "after"; here they are the two readings."""
    return (note.replace("the before run", "the 0.3 reading").replace("the after run", "the modern reading")
            .replace(" before, ", " on 0.3, ").replace(" before ", " on 0.3 ").rstrip()
            .removesuffix(" after") + (" on modern torch" if note.rstrip().endswith(" after") else ""))


def _where(first: Optional[dict[str, Any]]) -> str:
    f = first or {}
    at = f"event {f['event']}" if f.get("event") is not None else "the final values"
    tensor = f.get("tensor")
    what = f"tensor {tensor}" if tensor else _sides(str(f.get("note") or "the event sequence"))
    if tensor and f.get("field") in ("grad", "value", "root", "final"):
        what += f" ({f['field']}"
        if f.get("max_abs") is not None:
            what += f", max abs {f['max_abs']:.3g}"
        what += ")"
        if f.get("note"):
            what += f": {_sides(f['note'])}"
    return f"first at {at}, {what}"


def compare_readings(ref_run: RunResult, other_run: RunResult, reference: str) -> dict[str, Any]:
    """Compares the 0.3 reading with the modern one, whichever of them is the reference."""
    if other_run.status == "error":  # the harness, not the program, failed: no evidence either way
        return not_run(reference, f"the {other(reference)} reading could not be run ({other_run.message})")
    r03, rmod = (ref_run, other_run) if reference == "0.3" else (other_run, ref_run)
    t03 = Trace.load(r03.out_dir, r03.summary)
    tmod = Trace.load(rmod.out_dir, rmod.summary)
    died = {(True, True): "", (False, True): "before", (True, False): "after"}.get((r03.ok, rmod.ok), "both")
    diff = compare_traces(t03, tmod, died=died)
    out = {"reference": reference, "other": other(reference), "ran": True, "tier": diff.tier.name,
           "first": diff.first, "events": diff.compared}
    grads_differ = diff.tier > Tier.EQUAL
    if r03.ok and not rmod.ok:
        msg = f"on modern torch your unmigrated code fails ({describe(rmod)}) where 0.3 ran it"
        if grads_differ:
            msg += f", and computes different gradients before that: {_where(diff.first)}"
        return {**out, "differs": True, "message": msg}
    if rmod.ok and not r03.ok:
        return {**out, "differs": True,
                "message": f"on 0.3 your unmigrated code fails ({describe(r03)}) where modern torch runs it"}
    if grads_differ:
        return {**out, "differs": True,
                "message": f"on modern torch your unmigrated code computes different gradients than on 0.3: "
                           f"{_where(diff.first)}"}
    if not r03.ok:  # both failed, the same way as far as the traces go
        return {**out, "differs": False,
                "message": f"both readings of your unmigrated code fail ({describe(r03)}; modern: "
                           f"{describe(rmod)}); their {diff.compared} common events agree"}
    return {**out, "differs": False,
            "message": f"on modern torch your unmigrated code computes the same gradients as on 0.3 "
                       f"({diff.compared} events compared)"}
