"""The harness's torch-free helpers: which legacy features a program needs (detect, features),
reading sources as Python does (source), printed-output comparison (printed), and the torch-free
grading of stored tensors (numeric) against torch's own answers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from varmigrate.harness import detect, features, printed, source


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_features_follow_the_entry_and_its_local_imports(tmp_path: Path) -> None:
    write(tmp_path, {
        "train.py": """
            import torch
            from model import Net
            from pkg.helpers import to_var
            import numpy as np
            print(loss_value)
            """,
        "model.py": "class Net: pass\n",
        "pkg/__init__.py": "",
        "pkg/helpers.py": """
            from .deep import cut
            def to_var(x, volatile=False):
                return Variable(x, volatile=volatile)
            """,
        "pkg/deep.py": "def cut(w): w.data.resize_(2)\n",
        "unused.py": "x.cuda(async=True)\nclass F(Function): pass\n",
    })
    found = detect.needed("script", str(tmp_path / "train.py"), [str(tmp_path)])
    assert found == ["volatile", "data_metadata", "data_number"]  # unused.py is never imported
    assert detect.needed("script", str(tmp_path / "train.py"), [str(tmp_path)], "modern") == []
    # a -m entry (pytest) scans the whole tree, generously
    tree = detect.needed("module", "pytest", [str(tmp_path), str(tmp_path)])
    assert {"volatile", "data_metadata", "async_keyword", "legacy_function"} <= set(tree)


@pytest.mark.parametrize("text, expect", [
    ("print(loss.data[0])", {"zero_dim_index", "data_number"}),
    ("correct += pred.eq(y.data).sum()", {"data_number"}),
    ("x.data.sum().item()", set()),  # `.item()`: written for 0.4 or later, where these are tensors
    ("x[-1]", {"zero_dim_index"}),
    ("x[10]", set()),
    ("if type(x) == Variable: pass", {"type_eq_variable"}),
    ("loss.backward(retain_variables=True)", {"backward_keywords"}),
    ("class Scale(Function): pass", {"legacy_function"}),
    ("x.cuda(async=True)", {"async_keyword"}),
    ("v = Variable(x, volatile=True)", {"volatile"}),
    ("w.data.set_(t)", {"data_metadata", "data_number"}),
    ("w.resize_(3)", set()),  # no `.data`: modern torch and 0.3 agree
    ("y = w.resize_(3) * 2", set()),
])
def test_feature_detection_is_textual_and_generous(text: str, expect: set[str]) -> None:
    assert features.mentioned([text]) == expect


def test_every_hit_name_is_explained() -> None:
    for f in features.FEATURES:
        assert f.kind in (features.CRASH, features.SEMANTICS) and f.hits
        for hit, text in f.hits.items():
            assert features.HITS[hit][0] == f.name and text
    crash, sem = features.split_hits({"zero_dim_index": 2, "volatile_op": 5})
    assert crash == {"zero_dim_index": 2} and sem == {"volatile_op": 5}


def test_sources_are_read_as_python_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "legacy.py"
    path.write_bytes('# -*- coding: latin-1 -*-\r\nlabel = "modèle"\r\nx = 1\r\n'.encode("latin-1"))
    assert source.read(path) == '# -*- coding: latin-1 -*-\nlabel = "modèle"\nx = 1\n'
    assert source.line(path, 2) == 'label = "modèle"'
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"x = '\xff'\n")
    assert source.read_or_none(bad) is None and source.line(bad, 1) == ""


# -- printed output ---------------------------------------------------------------------------

def test_printed_output_normalises_what_legitimately_differs() -> None:
    before = ("epoch 1 loss tensor(0.1235) took 1.23s\n"
              "acc tensor(3.)\n"
              "10%|#   | 1/10 [00:01<00:09, 1.2it/s]\r100%|####| 10/10 [00:02<00:00, 4.5it/s]\n"
              "w tensor([1., 2.], grad_fn=<AddBackward0>)\n"
              "model at 0x7f3abc123456\n"
              "\x1b[32mdone\x1b[0m in 12 ms\n")
    after = ("epoch 1 loss 0.12345678 took 0.9s\n"
             "acc 3.0\n"
             "100%|####| 10/10 [00:03<00:00, 3.3it/s]\n"
             "w [1.0, 2.0]\n"
             "model at 0x7f3abc999999\n"
             "done in 7 ms\n")
    got = printed.compare(before, after).to_dict()
    assert got["same"] is True and got["differing"] == 0 and got["before_lines"] == 6


def test_printed_output_that_changed_stands_out() -> None:
    got = printed.compare("epoch 0 acc 0.91\nepoch 1 acc 0.95\n", "epoch 0 acc 0.91\nepoch 1 acc 0.93\nextra\n")
    d = got.to_dict()
    assert d["same"] is False and d["differing"] == 2
    assert d["first"] == {"before_line": 2, "after_line": 2, "before": "epoch 1 acc 0.95", "after": "epoch 1 acc 0.93"}
    assert "first at before line 2" in d["note"]
    # a less precise spelling matches only what it is the rounding of
    assert not printed.same_line("x 3", "x 3.4") and printed.compare("x tensor(3)\n", "x 3\n").differing == 0
    assert printed.same_line("x 0.1235", "x 0.12345678") and not printed.same_line("x 0.1235", "x 0.1238")
    assert printed.same_line("v nan", "v nan") and not printed.same_line("v nan", "v 1.0")


# -- stored tensors graded without torch ------------------------------------------------------

@pytest.mark.torch
@pytest.mark.parametrize("use_numpy", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64", "bool", "complex64"])
def test_numeric_grading_agrees_with_torch(dtype: str, use_numpy: bool) -> None:
    torch = pytest.importorskip("torch")
    if use_numpy:
        pytest.importorskip("numpy")
    from varmigrate.harness.numeric import grade
    from varmigrate.harness.tensorio import raw_bytes
    from varmigrate.harness.tiers import Tier

    td = getattr(torch, dtype)
    torch.manual_seed(0)
    ref = (torch.randn(40) * 3).to(td) if dtype != "bool" else torch.rand(40) > 0.5
    if td.is_floating_point:
        ref[3] = float("nan")
        ref[5] = 0.0
    candidates = [ref.clone()]
    if td.is_floating_point or td.is_complex:
        eps = torch.finfo(td).eps
        nudged = ref.clone()
        nudged[7] = nudged[7] * (1 + 4 * eps)
        candidates += [nudged, ref + 0.5]
        if td.is_floating_point:
            signed = ref.clone()
            signed[5] = -0.0
            moved_nan = ref.clone()
            moved_nan[3] = 1.0
            candidates += [signed, moved_nan]
    else:
        flipped = ref.clone()
        flipped[0] = (~flipped[0]) if dtype == "bool" else flipped[0] + 1
        candidates.append(flipped)
    for cand in candidates:
        got = grade(raw_bytes(ref), raw_bytes(cand), dtype, use_numpy=use_numpy)
        assert got is not None
        if torch.equal(torch.nan_to_num(ref.float() if dtype == "bool" else ref, 0.0),
                       torch.nan_to_num(cand.float() if dtype == "bool" else cand, 0.0)) and \
                torch.equal(torch.isnan(ref), torch.isnan(cand)):
            expect = Tier.EQUAL
        else:
            try:
                torch.testing.assert_close(cand, ref, equal_nan=True)
                expect = Tier.CLOSE
            except AssertionError:
                expect = Tier.DIVERGED
        assert Tier(got.tier) == expect, (dtype, cand)


# -- the parent process stays torch-free ------------------------------------------------------

@pytest.mark.torch
def test_verify_parent_never_imports_torch(tmp_path: Path) -> None:
    d = Path(__file__).parent / "fixtures" / "programs" / "linear_model_wrong"
    code = textwrap.dedent(f"""
        import sys
        from varmigrate.harness.command import verify
        try:
            verify.main([{str(d / 'before.py')!r}, {str(d / 'after.py')!r}, '--report', {str(tmp_path)!r}],
                        standalone_mode=False)
        except SystemExit:
            pass
        print('TORCH', 'torch' in sys.modules, file=sys.stderr)
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert "TORCH False" in proc.stderr, proc.stderr[-3000:]
    rep: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    assert rep["pairs"][0]["verdict"] == "DIVERGED"  # hashes differed: amounts were graded without torch
    assert rep["pairs"][0]["first_divergence"]["max_abs"] == pytest.approx(2.99, abs=0.01)
