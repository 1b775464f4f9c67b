"""Success/precision plots and score tables from the eval data of :mod:`pytracking.analysis.extract_results`.

Scores (all in percent) per protocol:

* ``'pytracking'``: AUC (mean of the sequence-averaged success curve), OP50 / OP75 (that curve at overlap 0.50 /
  0.75, matched with a tolerance), Precision (precision curve at 20 px), Norm Precision (normalised curve at
  0.20). Sequences have equal weight.
* ``'got10k'``: AO (mean IoU of all kept frames pooled), SR0.50 / SR0.75 (pooled fraction with IoU above), and
  the pooled precision values; sequences weigh by their number of kept frames.

Tables name the protocol. Plot functions import matplotlib only when called and draw on Agg figures without
pyplot, so they work headless and do not change the session's backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pytracking.analysis import metrics
from pytracking.analysis.extract_results import SequenceLike, TrackerLike, load_or_extract_results, report_dir

__all__ = [
    "get_plot_draw_styles",
    "get_tracker_display_name",
    "merge_multiple_runs",
    "check_and_load_precomputed_results",
    "compute_scores",
    "generate_formatted_report",
    "plot_results",
    "print_results",
    "print_per_sequence_results",
    "print_results_per_attribute",
]

# Columns produced by each plot type, per protocol.
_COLUMNS = {
    "pytracking": {"success": ("AUC", "OP50", "OP75"), "prec": ("Precision",), "norm_prec": ("Norm Precision",)},
    "got10k": {"success": ("AO", "SR0.50", "SR0.75"), "prec": ("Precision",), "norm_prec": ("Norm Precision",)},
}

_PLOT_SETTINGS = {
    "success": {
        "curve_key": "ave_success_rate_plot_overlap",
        "thr_key": "threshold_set_overlap",
        "title": "Success plot",
        "xlabel": "Overlap threshold",
        "ylabel": "Overlap Precision [%]",
        "xlim": (0.0, 1.0),
        "legend_loc": "lower left",
    },
    "prec": {
        "curve_key": "ave_success_rate_plot_center",
        "thr_key": "threshold_set_center",
        "title": "Precision plot",
        "xlabel": "Location error threshold [pixels]",
        "ylabel": "Distance Precision [%]",
        "xlim": (0.0, 50.0),
        "legend_loc": "lower right",
    },
    "norm_prec": {
        "curve_key": "ave_success_rate_plot_center_norm",
        "thr_key": "threshold_set_center_norm",
        "title": "Normalized Precision plot",
        "xlabel": "Location error threshold",
        "ylabel": "Distance Precision [%]",
        "xlim": (0.0, 0.5),
        "legend_loc": "lower right",
    },
}


def get_plot_draw_styles() -> list[dict[str, Any]]:
    """22 fixed line styles (distinct RGB colours, solid lines); tracker ``i`` uses style ``i % 22``."""
    colors = [
        (0.0, 0.45, 0.70), (0.84, 0.15, 0.16), (0.17, 0.63, 0.17), (1.0, 0.50, 0.05), (0.58, 0.40, 0.74),
        (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.0, 0.0, 0.0), (0.74, 0.74, 0.13), (0.09, 0.75, 0.81),
        (0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, 0.6, 0.0), (0.5, 0.5, 0.5), (0.6, 0.0, 0.6),
        (0.0, 0.5, 0.5), (0.8, 0.6, 0.0), (0.4, 0.2, 0.0), (1.0, 0.4, 0.6), (0.3, 0.3, 0.8),
        (0.5, 0.8, 0.2), (0.2, 0.2, 0.2),
    ]  # fmt: skip
    return [{"color": c, "line_style": "-"} for c in colors]


def get_tracker_display_name(tracker: Mapping[str, Any]) -> str:
    """``disp_name`` if set, else ``name_param`` or ``name_param_RRR`` (run id, 3 digits).

    Args:
        tracker: a tracker record of the eval data (keys ``name``, ``param``, ``run_id``, ``disp_name``).
    """
    if tracker.get("disp_name"):
        return str(tracker["disp_name"])
    if tracker.get("run_id") is None:
        return f"{tracker['name']}_{tracker['param']}"
    return f"{tracker['name']}_{tracker['param']}_{int(tracker['run_id']):03d}"


def merge_multiple_runs(eval_data: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the runs (same ``name`` and ``param``, different ``run_id``) of each tracker into one entry.

    Curves and mean overlaps are averaged over runs: with equal weights under the pytracking protocol (as the
    original), weighted by frame counts under got10k (the toolkit concatenates the runs' frames). The merged
    tracker keeps the first run's ``disp_name``, gets ``run_id`` None, and ``num_frames`` summed over runs.

    Args:
        eval_data: eval data as returned by ``extract_results``.

    Returns:
        A new eval data dict (lists, like the input).
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for k, t in enumerate(eval_data["trackers"]):
        groups.setdefault((t["name"], t["param"]), []).append(k)
    pooled = eval_data.get("protocol", "pytracking") == "got10k"
    n_seq, n_trk = len(eval_data["sequences"]), len(eval_data["trackers"])
    counts = np.asarray(eval_data.get("num_frames", np.ones((n_seq, n_trk))), dtype=np.float64)

    def merge(values: np.ndarray, idx: list[int]) -> np.ndarray:
        sub = values[:, idx]
        if not pooled:
            return sub.mean(axis=1)
        w = counts[:, idx].reshape(counts.shape[0], len(idx), *([1] * (sub.ndim - 2)))
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, np.where(w > 0, sub * w, 0.0).sum(axis=1) / np.maximum(total, 1e-300), np.nan)

    out = dict(eval_data)
    out["trackers"] = [{**eval_data["trackers"][idx[0]], "run_id": None} for idx in groups.values()]
    for key in (
        "ave_success_rate_plot_overlap",
        "ave_success_rate_plot_center",
        "ave_success_rate_plot_center_norm",
        "avg_overlap_all",
    ):
        values = np.asarray(eval_data[key], dtype=np.float64)
        out[key] = np.stack([merge(values, idx) for idx in groups.values()], axis=1).tolist()
    out["num_frames"] = np.stack([counts[:, idx].sum(axis=1) for idx in groups.values()], axis=1).tolist()
    return out


def check_and_load_precomputed_results(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    force_evaluation: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """The original's name for :func:`~pytracking.analysis.extract_results.load_or_extract_results`."""
    return load_or_extract_results(trackers, dataset, report_name, force_evaluation=force_evaluation, **kwargs)


def compute_scores(
    eval_data: Mapping[str, Any],
    plot_types: Sequence[str] = ("success", "prec", "norm_prec"),
    sequence_mask: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scores in percent per tracker, for the eval data's protocol (see the module docstring).

    Args:
        eval_data: eval data (optionally merged with :func:`merge_multiple_runs`).
        plot_types: any of ``'success'``, ``'prec'``, ``'norm_prec'``; selects the columns.
        sequence_mask: (S,) bool to restrict the sequences further (e.g. one attribute); AND-ed with
            ``valid_sequence``.

    Returns:
        Ordered dict column name -> (K,) float64 scores.
    """
    protocol = eval_data.get("protocol", "pytracking")
    valid = np.asarray(eval_data["valid_sequence"], dtype=bool)
    if sequence_mask is not None:
        valid = valid & np.asarray(sequence_mask, dtype=bool)
    weights = np.asarray(eval_data["num_frames"], dtype=np.float64) if protocol == "got10k" else None

    def curve(key: str) -> np.ndarray:
        return metrics.average_curves(np.asarray(eval_data[key], dtype=np.float64), valid, weights) * 100.0

    scores: dict[str, np.ndarray] = {}
    for plot_type in plot_types:
        if plot_type not in _PLOT_SETTINGS:
            raise ValueError(f"unknown plot type {plot_type!r}; choose from {sorted(_PLOT_SETTINGS)}")
        cols = _COLUMNS[protocol][plot_type]
        if plot_type == "success":
            succ = curve("ave_success_rate_plot_overlap")
            thr = np.asarray(eval_data["threshold_set_overlap"])
            if protocol == "got10k":
                scores[cols[0]] = curve("avg_overlap_all")
            else:
                scores[cols[0]] = metrics.auc(succ)
            scores[cols[1]] = metrics.curve_value_at(succ, thr, 0.50)
            scores[cols[2]] = metrics.curve_value_at(succ, thr, 0.75)
        elif plot_type == "prec":
            thr = np.asarray(eval_data["threshold_set_center"])
            scores[cols[0]] = metrics.curve_value_at(curve("ave_success_rate_plot_center"), thr, 20.0)
        else:
            thr = np.asarray(eval_data["threshold_set_center_norm"])
            scores[cols[0]] = metrics.curve_value_at(curve("ave_success_rate_plot_center_norm"), thr, 0.20)
    return scores


def generate_formatted_report(
    row_labels: Sequence[str], scores: Mapping[str, Sequence[float]], table_name: str = ""
) -> str:
    """Format a fixed-width table: one row per label, one column per score (two decimals).

    Args:
        row_labels: R row names.
        scores: column name -> R values.
        table_name: header of the first column.

    Returns:
        The table text, one line per row plus a header line, ending with a newline.
    """
    label_w = max([len(table_name), *(len(r) for r in row_labels)]) + 2
    widths = [max(len(c), 7) + 2 for c in scores]
    lines = [table_name.ljust(label_w) + "".join(c.rjust(w) for c, w in zip(scores, widths))]
    for r, label in enumerate(row_labels):
        vals = "".join(f"{float(v[r]):.2f}".rjust(w) for v, w in zip(scores.values(), widths))
        lines.append(label.ljust(label_w) + vals)
    return "\n".join(lines) + "\n"


def _load(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    merge_results: bool,
    force_evaluation: bool,
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    data = check_and_load_precomputed_results(trackers, dataset, report_name, force_evaluation, **kwargs)
    return merge_multiple_runs(data) if merge_results else data


def _header(eval_data: Mapping[str, Any], n_valid: int | None = None) -> str:
    valid = np.asarray(eval_data["valid_sequence"], dtype=bool)
    n_valid = int(valid.sum()) if n_valid is None else n_valid
    protocol = eval_data.get("protocol", "pytracking")
    return f"Reporting results over {n_valid} / {len(valid)} sequences (protocol: {protocol})\n"


def print_results(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    merge_results: bool = False,
    plot_types: Sequence[str] = ("success",),
    force_evaluation: bool = False,
    **kwargs: Any,
) -> str:
    """Print and return the score table of ``trackers`` on ``dataset``.

    Args:
        trackers: the trackers.
        dataset: the sequences.
        report_name: cache/plot sub-directory.
        merge_results: average the runs of each tracker.
        plot_types: which score columns (``'success'``, ``'prec'``, ``'norm_prec'``).
        force_evaluation: ignore the cache.
        **kwargs: evaluation options of ``extract_results`` (``protocol``, ``skip_missing_seq``, ...).

    Returns:
        The printed text (header naming the protocol, then the table).
    """
    data = _load(trackers, dataset, report_name, merge_results, force_evaluation, kwargs)
    if isinstance(plot_types, str):
        plot_types = (plot_types,)
    scores = compute_scores(data, plot_types)
    names = [get_tracker_display_name(t) for t in data["trackers"]]
    text = _header(data) + generate_formatted_report(names, scores, report_name)
    print(text, end="")
    return text


def print_per_sequence_results(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    merge_results: bool = False,
    filter_criteria: Mapping[str, Any] | None = None,
    force_evaluation: bool = False,
    **kwargs: Any,
) -> str:
    """Print and return each valid sequence's mean overlap (percent) per tracker, optionally filtered.

    Args:
        trackers: the trackers.
        dataset: the sequences.
        report_name: cache/plot sub-directory.
        merge_results: average the runs of each tracker.
        filter_criteria: ``{'mode': m, 'threshold': t}`` with ``t`` in percent; ``'ao_min'`` keeps sequences
            whose lowest tracker AO is above ``t``, ``'ao_max'`` those whose highest AO is below ``t``,
            ``'delta_ao'`` those where highest minus lowest exceeds ``t``.
        force_evaluation: ignore the cache.
        **kwargs: evaluation options of ``extract_results``.

    Returns:
        The printed text.
    """
    data = _load(trackers, dataset, report_name, merge_results, force_evaluation, kwargs)
    valid = np.asarray(data["valid_sequence"], dtype=bool)
    ao = np.asarray(data["avg_overlap_all"], dtype=np.float64) * 100.0
    if filter_criteria is not None:
        mode, thr = filter_criteria["mode"], float(filter_criteria["threshold"])
        with np.errstate(invalid="ignore"):
            if mode == "ao_min":
                valid &= ao.min(axis=1) > thr
            elif mode == "ao_max":
                valid &= ao.max(axis=1) < thr
            elif mode == "delta_ao":
                valid &= (ao.max(axis=1) - ao.min(axis=1)) > thr
            else:
                raise ValueError(f"unknown filter mode {mode!r}; choose 'ao_min', 'ao_max' or 'delta_ao'")
    names = [get_tracker_display_name(t) for t in data["trackers"]]
    seq_names = [n for n, v in zip(data["sequences"], valid) if v]
    columns = {name: ao[valid, k] for k, name in enumerate(names)}
    text = _header(data, int(valid.sum())) + generate_formatted_report(seq_names, columns, "Sequence")
    print(text, end="")
    return text


def print_results_per_attribute(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    attributes: Mapping[str, Iterable[str]],
    merge_results: bool = False,
    score: str | None = None,
    force_evaluation: bool = False,
    **kwargs: Any,
) -> str:
    """Print and return one score per tracker (rows) over all sequences and each attribute's subset (columns).

    Args:
        trackers: the trackers.
        dataset: the sequences.
        report_name: cache/plot sub-directory.
        attributes: attribute name -> the sequences that have it (names or Sequence objects, e.g. the output of
            ``get_dataset_attributes``).
        merge_results: average the runs of each tracker.
        score: the column of :func:`compute_scores` to show (default AUC, or AO under got10k).
        force_evaluation: ignore the cache.
        **kwargs: evaluation options of ``extract_results``.

    Returns:
        The printed text; column headers carry the number of valid sequences, e.g. ``'occlusion (12)'``.
    """
    data = _load(trackers, dataset, report_name, merge_results, force_evaluation, kwargs)
    all_scores = compute_scores(data)
    score = score or next(iter(all_scores))
    if score not in all_scores:
        raise ValueError(f"unknown score {score!r}; choose one of {list(all_scores)}")
    valid = np.asarray(data["valid_sequence"], dtype=bool)
    seq_names = data["sequences"]
    columns = {f"All ({int(valid.sum())})": all_scores[score]}
    for attr, members in attributes.items():
        # Names or Sequence objects (get_dataset_attributes gives SequenceLists) are both accepted.
        member_set = {getattr(m, "name", m) for m in members}
        mask = np.array([n in member_set for n in seq_names], dtype=bool)
        columns[f"{attr} ({int((mask & valid).sum())})"] = compute_scores(data, sequence_mask=mask)[score]
    names = [get_tracker_display_name(t) for t in data["trackers"]]
    protocol = data.get("protocol", "pytracking")
    text = f"{score} per attribute (protocol: {protocol})\n" + generate_formatted_report(names, columns, "Tracker")
    print(text, end="")
    return text


def plot_results(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    merge_results: bool = False,
    plot_types: Sequence[str] = ("success",),
    force_evaluation: bool = False,
    plot_opts: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Draw the curves and save ``{plot_type}_plot.pdf`` and ``.png`` under ``result_plot_path/report_name``.

    Curves are ordered by score in the legend (``"name [score]"``); each tracker keeps its colour
    (:func:`get_plot_draw_styles`).

    Args:
        trackers: the trackers.
        dataset: the sequences.
        report_name: cache/plot sub-directory.
        merge_results: average the runs of each tracker.
        plot_types: any of ``'success'``, ``'prec'``, ``'norm_prec'``.
        force_evaluation: ignore the cache.
        plot_opts: overrides of ``title``, ``xlabel``, ``ylabel``, ``xlim``, ``ylim``, ``legend_loc``,
            ``font_size``, ``line_width``, ``figsize``, ``dpi``, ``formats`` (default ``('pdf', 'png')``).
        **kwargs: evaluation options of ``extract_results`` (``protocol``, ``skip_missing_seq``, ...).

    Returns:
        plot type -> ``{'figure': matplotlib Figure, 'files': [paths]}``.
    """
    from matplotlib.figure import Figure  # lazy: analysis must import without matplotlib

    data = _load(trackers, dataset, report_name, merge_results, force_evaluation, kwargs)
    if isinstance(plot_types, str):
        plot_types = (plot_types,)
    opts = dict(plot_opts or {})
    out_dir = report_dir(report_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [get_tracker_display_name(t) for t in data["trackers"]]
    styles = get_plot_draw_styles()
    valid = np.asarray(data["valid_sequence"], dtype=bool)
    weights = np.asarray(data["num_frames"], dtype=np.float64) if data.get("protocol") == "got10k" else None

    results: dict[str, dict[str, Any]] = {}
    for plot_type in plot_types:
        settings = {**_PLOT_SETTINGS[plot_type], **opts} if plot_type in _PLOT_SETTINGS else None
        if settings is None:
            raise ValueError(f"unknown plot type {plot_type!r}; choose from {sorted(_PLOT_SETTINGS)}")
        curves = metrics.average_curves(np.asarray(data[settings["curve_key"]]), valid, weights) * 100.0
        thresholds = np.asarray(data[settings["thr_key"]])
        score = next(iter(compute_scores(data, (plot_type,)).values()))

        fig = Figure(figsize=settings.get("figsize", (6.4, 4.8)))
        ax = fig.add_subplot(1, 1, 1)
        font_size = settings.get("font_size", 12)
        for k in np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable"):
            style = styles[k % len(styles)]
            ax.plot(
                thresholds,
                curves[k],
                color=style["color"],
                linestyle=style["line_style"],
                linewidth=settings.get("line_width", 2),
                label=f"{names[k]} [{score[k]:.1f}]",
            )
        ax.legend(loc=settings["legend_loc"], fontsize=font_size - 3)
        ax.set(xlabel=settings["xlabel"], ylabel=settings["ylabel"], title=settings["title"])
        ax.set_xlim(*settings["xlim"])
        ax.set_ylim(*settings.get("ylim", (0.0, 100.0)))
        ax.grid(True, linestyle="-.")
        fig.tight_layout()
        files = []
        for fmt in settings.get("formats", ("pdf", "png")):
            path = Path(out_dir) / f"{plot_type}_plot.{fmt}"
            fig.savefig(path, format=fmt, dpi=settings.get("dpi", 150))
            files.append(path)
        results[plot_type] = {"figure": fig, "files": files}
    return results
