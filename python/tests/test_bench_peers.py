"""CPU: scripts/bench_peers.py (the peers bench, run on the GPU machine) parses its arguments,
skips cleanly without a GPU, and writes its tables and CSV from measured rows (made up here)."""
import csv
import importlib.util
import math
import os
import subprocess
import sys

import pytest
import torch

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "bench_peers.py")
pytestmark = pytest.mark.skipif(not os.path.exists(SCRIPT), reason="no scripts/bench_peers.py beside the tests")


def load():
    spec = importlib.util.spec_from_file_location("bench_peers", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120)


def test_help_and_bad_arguments():
    assert run("--help").returncode == 0
    for args, match in ((("--reps", "5"), "at least 20"), (("--skip", "fa5"), "--skip fa5"),
                        (("--rows", "huge"), "invalid choice")):
        r = run(*args)
        assert r.returncode == 2 and match in r.stderr, r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU the bench would run")
def test_skips_without_a_gpu(tmp_path):
    r = run("--rows", "quick", "--out", str(tmp_path))
    assert r.returncode == 77 and r.stdout.startswith("SKIP: bench_peers.py needs a CUDA GPU")


def test_rows_and_tables(tmp_path):
    bp = load()
    att, var = bp.rows("default")
    assert {(r["head_dim"], r["causal"]) for r in att if r["seq"] == 16384} == \
        {(d, c) for d in (64, 96, 128, 256) for c in (0, 1)}
    assert all(r["batch"] * r["seq"] == 16384 and r["heads"] == 32 for r in att)
    assert var[0]["seqs"] == 8 and var[0]["seq"] == 2048 and var[0]["head_dim"] == 128
    nan = math.nan
    res = {m: dict(ms=1.0, tops=t, err=1e-2, why=None) for m, t in
           zip(bp.METHODS, (700.0, 600.0, 550.0, 350.0, nan, 650.0))}
    res["fa4"] = dict(ms=nan, tops=nan, err=nan, why="RuntimeError: head_dim 96")
    del res["sage2"]
    vres = [(var[0], dict(varlen_ms=1.02, batched_ms=1.0, ratio=1.02, max_abs_diff=0.0, why=None))]
    md = bp.markdown("header", [(att[2], res)], vres, {"sage2": "ImportError: none"})
    line = next(x for x in md.splitlines() if x.startswith("| hd96 N=16k B=1 H=32 full"))
    cells = [c.strip() for c in line.split("|")[1:-1]]
    assert cells[1:7] == ["700", "600", "550", "350", "n/a", "skipped"]
    assert cells[7:10] == ["550 (cuDNN)", "1.27", "1.09"]
    assert "- FA4, hd96 N=16k B=1 H=32 full: RuntimeError: head_dim 96" in md
    assert "- Sage2: ImportError: none" in md and "| 1.020 | yes |" in md
    bp.write_csv(str(tmp_path / "p.csv"), [(att[2], res)])
    row = next(csv.DictReader(open(tmp_path / "p.csv")))
    assert row["head_dim"] == "96" and row["best_fp16"] == "sdpa-cudnn"
    assert row["kernel_over_best_fp16"] == "1.273" and row["fa4_tops"] == ""
    assert "fa4: RuntimeError: head_dim 96" in row["notes"]
