"""Analysis of tracking results: metrics, cached evaluation, plots, score tables and playback.

Import the submodules directly (``from pytracking.analysis.plot_results import plot_results``); this package
module stays light and imports nothing heavy (no matplotlib, no torch).
"""

__all__ = ["metrics", "extract_results", "plot_results", "playback_results"]
