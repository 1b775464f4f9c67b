"""The analysis notebook: valid nbformat 4 without stored outputs, and every code cell runs top to bottom."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "pytracking" / "notebooks" / "analyze_results.ipynb"

# Papermill-style override injected after the cell tagged "parameters": a third of the split keeps the test short.
PARAMETER_OVERRIDE = "MAX_SEQUENCES = 6\n"


def load_notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_notebook_is_valid_nbformat4_without_outputs():
    nb = load_notebook()
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5
    assert nb["metadata"]["kernelspec"]["language"] == "python"
    ids = [cell["id"] for cell in nb["cells"]]
    assert len(set(ids)) == len(ids)
    kinds = [cell["cell_type"] for cell in nb["cells"]]
    assert set(kinds) == {"markdown", "code"} and kinds[0] == "markdown"
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None
        compile(source(cell), cell["id"], "exec")  # every cell is valid Python
    tagged = [cell for cell in code if "parameters" in cell["metadata"].get("tags", [])]
    assert len(tagged) == 1 and "MAX_SEQUENCES = None" in source(tagged[0])
    text = "".join(source(cell) for cell in code)
    for call in (
        "run_dataset(",
        "threads=THREADS",
        "print_results(",
        "plot_results(",
        "print_per_sequence_results(",
        "get_dataset_attributes(",
        "print_results_per_attribute(",
        'protocol="got10k"',
    ):
        assert call in text, call


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path, monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTRACKING_SYNTHETIC_PATH", str(tmp_path / "synthetic"))
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("PYTRACKING_RESULT_PLOT_PATH", str(tmp_path / "plots"))

    namespace: dict = {"__name__": "__notebook__"}
    for cell in load_notebook()["cells"]:
        if cell["cell_type"] != "code":
            continue
        exec(compile(source(cell), f"{NOTEBOOK.name}:{cell['id']}", "exec"), namespace)
        if "parameters" in cell["metadata"].get("tags", []):
            exec(PARAMETER_OVERRIDE, namespace)
    out = capsys.readouterr().out

    assert len(namespace["dataset"]) == 6
    assert len(namespace["summary"].done) == 18 and namespace["summary"].ok
    assert "protocol: pytracking" in namespace["table"]
    for name in ("csrt_default", "kcf_default", "baseline_default"):
        assert name in namespace["table"] and name in namespace["got10k_table"]
    assert "AUC" in namespace["table"] and "Norm Precision" in namespace["table"]
    assert "protocol: got10k" in namespace["got10k_table"] and "AO" in namespace["got10k_table"]

    plot_dir = tmp_path / "plots" / "synthetic_reference"
    for kind in ("success", "prec"):
        for ext in ("pdf", "png"):
            path = plot_dir / f"{kind}_plot.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    assert (plot_dir / "success_plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (plot_dir / "success_plot.pdf").read_bytes()[:5] == b"%PDF-"

    # the filter keeps a strict subset of the rows: the header says how many of the 6 sequences remain
    header = namespace["per_sequence"].splitlines()[0]
    kept = int(header.split()[3])
    assert header.startswith("Reporting results over") and 0 <= kept <= 6
    assert len(namespace["per_sequence"].splitlines()) == 2 + kept

    assert namespace["per_attribute"].startswith("AUC per attribute (protocol: pytracking)")
    assert "All (6)" in namespace["per_attribute"]
    for attribute, names in namespace["attribute_sequences"].items():
        assert f"{attribute} ({len(names)})" in namespace["per_attribute"]

    comparison = namespace["comparison"]
    assert list(comparison) == ["AUC (pytracking)", "AO (got10k)"]
    assert all(np.isfinite(v).all() and v.shape == (3,) for v in comparison.values())
    assert "Protocol comparison" in out
