"""Applying discriminative target-model filters to batches of sequences, and the adjoint of that operation.

Tensor layout used throughout (the "sequences" batch of the DiMP family): features are
``(n_images, n_sequences, C, H, W)``, i.e. several frames of each of ``n_sequences`` independent sequences,
and every sequence has its own filter ``(n_sequences, C, fH, fW)`` (or ``(n_sequences, n_filters, C, fH, fW)``
for several filters per sequence). Filters are applied as cross-correlation (``F.conv2d``) with symmetric
padding ``(fH // 2, fW // 2)``, so odd-sized filters keep the spatial size and even-sized ones give one extra
row/column: ``H' = H + (fH + 1) % 2``, ``W' = W + (fW + 1) % 2``.

:func:`apply_feat_transpose` is the adjoint of :func:`apply_filter` as a linear map of the filter, and
:func:`filter_gradient` combines the two into the gradient of the least-squares data term that the
steepest-descent filter optimizers minimize.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

__all__ = ["apply_filter", "apply_feat_transpose", "filter_gradient"]


def _as_pair(ksz: int | Sequence[int] | torch.Size) -> tuple[int, int]:
    if isinstance(ksz, int):
        return ksz, ksz
    values = tuple(int(k) for k in ksz)
    if len(values) != 2:
        raise ValueError(f"filter size must be an int or a pair, got {ksz!r}")
    return values


def apply_filter(
    feat: torch.Tensor, filter: torch.Tensor, dilation_factors: Mapping[int, int] | None = None
) -> torch.Tensor:
    """Correlate each sequence's features with that sequence's filter(s).

    All sequences are handled by one grouped ``conv2d`` (``groups = n_sequences``); 1x1 filters use a
    channel contraction instead of a convolution.

    Filter groups: when the filter has fewer channels ``Cf`` than the features (``C = g * Cf``), the features
    are split into ``g`` consecutive channel groups and the ``n_filters`` filters into ``g`` consecutive blocks,
    block ``j`` being applied to channel group ``j`` (needs the 5-D filter layout with ``n_filters`` divisible by
    ``g``).

    Args:
        feat: Features (n_images, n_sequences, C, H, W); a 4-D (n_images, C, H, W) tensor is one sequence.
        filter: Filters (n_sequences, Cf, fH, fW), or (n_sequences, n_filters, Cf, fH, fW).
        dilation_factors: Optional ``{dilation: count}`` in filter order: the first ``count`` filters use the
            first dilation, the next ones the second, and so on; the counts must add up to ``n_filters``. A
            filter with dilation ``d`` gets padding ``d * (fH // 2), d * (fW // 2)`` (for the 3x3 filters this is
            used with, the same as the original's ``fH // 2 + d - 1``). Needs odd filter sizes and ``Cf == C``.

    Returns:
        Scores (n_images, n_sequences, H', W') for a 4-D filter, or (n_images, n_sequences, n_filters, H', W').
    """
    if feat.dim() == 4:
        feat = feat.unsqueeze(1)
    if feat.dim() != 5:
        raise ValueError(f"feat must be (n_images, n_sequences, C, H, W), got shape {tuple(feat.shape)}")
    multiple_filters = filter.dim() == 5
    if not multiple_filters:
        if filter.dim() != 4:
            raise ValueError(f"filter must be 4-D or 5-D, got shape {tuple(filter.shape)}")
        filter = filter.unsqueeze(1)

    n_images, n_sequences, n_channels, height, width = feat.shape
    _, n_filters, filter_channels, fh, fw = filter.shape
    if filter.shape[0] != n_sequences:
        raise ValueError(f"filter has {filter.shape[0]} sequences, feat has {n_sequences}")
    if n_channels % filter_channels != 0 or n_filters % (n_channels // filter_channels) != 0:
        raise ValueError(
            f"cannot apply {n_filters} filter(s) with {filter_channels} channels to {n_channels}-channel features"
        )
    channel_groups = n_channels // filter_channels

    if dilation_factors is None and fh == 1 and fw == 1 and channel_groups == 1:
        scores = torch.einsum("ischw,sfc->isfhw", feat, filter[..., 0, 0])
    else:
        feat_flat = feat.reshape(n_images, n_sequences * n_channels, height, width)
        if dilation_factors is None:
            scores = F.conv2d(
                feat_flat,
                filter.reshape(n_sequences * n_filters, filter_channels, fh, fw),
                padding=(fh // 2, fw // 2),
                groups=n_sequences * channel_groups,
            )
            scores = scores.reshape(n_images, n_sequences, n_filters, scores.shape[-2], scores.shape[-1])
        else:
            scores = _apply_dilated(feat_flat, filter, dilation_factors, channel_groups)

    return scores if multiple_filters else scores.squeeze(2)


def _apply_dilated(
    feat_flat: torch.Tensor, filter: torch.Tensor, dilation_factors: Mapping[int, int], channel_groups: int
) -> torch.Tensor:
    n_sequences, n_filters, filter_channels, fh, fw = filter.shape
    if channel_groups != 1:
        raise ValueError("dilation_factors cannot be combined with filter channel groups")
    if fh % 2 == 0 or fw % 2 == 0:
        raise ValueError(f"dilation_factors need odd filter sizes, got {fh}x{fw}")
    if sum(dilation_factors.values()) != n_filters:
        raise ValueError(f"dilation_factors {dict(dilation_factors)} do not cover the {n_filters} filters")

    parts = []
    start = 0
    for dilation, count in dilation_factors.items():
        part = filter[:, start : start + count].reshape(n_sequences * count, filter_channels, fh, fw)
        start += count
        out = F.conv2d(
            feat_flat,
            part,
            padding=(dilation * (fh // 2), dilation * (fw // 2)),
            dilation=dilation,
            groups=n_sequences,
        )
        parts.append(out.reshape(out.shape[0], n_sequences, count, out.shape[-2], out.shape[-1]))
    return torch.cat(parts, dim=2)


def apply_feat_transpose(
    feat: torch.Tensor, input: torch.Tensor, filter_ksz: int | Sequence[int] | torch.Size, training: bool = True
) -> torch.Tensor:
    """Adjoint of :func:`apply_filter` with respect to the filter.

    For every filter ``f`` of size ``filter_ksz``: ``<apply_filter(feat, f), input> ==
    <f, apply_feat_transpose(feat, input, filter_ksz)>``. The result is the correlation of each sequence's
    score-shaped ``input`` with its (padded) features, summed over the images; it is computed by one grouped
    ``conv2d`` in which the feature channels play the role of the batch.

    Args:
        feat: Features (n_images, n_sequences, C, H, W); a 4-D (n_images, C, H, W) tensor is one sequence.
        input: Score-shaped tensor (n_images, n_sequences, H', W'), or (n_images, n_sequences, n_filters, H', W')
            for several filters, with ``H', W'`` the output size of :func:`apply_filter` for this filter size.
        filter_ksz: Filter size ``fH`` (square) or ``(fH, fW)``.
        training: Accepted for API compatibility. The original chose between a transposed-convolution and a
            convolution implementation with it; both compute this same operator, so it has no effect here.

    Returns:
        Tensor (n_sequences, C, fH, fW), or (n_sequences, n_filters, C, fH, fW) for a 5-D ``input``.
    """
    del training  # both of the original's code paths compute the same adjoint
    fh, fw = _as_pair(filter_ksz)
    if feat.dim() == 4:
        feat = feat.unsqueeze(1)
    if feat.dim() != 5:
        raise ValueError(f"feat must be (n_images, n_sequences, C, H, W), got shape {tuple(feat.shape)}")
    multiple_filters = input.dim() == 5
    if not multiple_filters:
        if input.dim() != 4:
            raise ValueError(f"input must be 4-D or 5-D, got shape {tuple(input.shape)}")
        input = input.unsqueeze(2)

    n_images, n_sequences, n_channels, height, width = feat.shape
    n_filters = input.shape[2]
    expected = (n_images, n_sequences, n_filters, height + (fh + 1) % 2, width + (fw + 1) % 2)
    if tuple(input.shape) != expected:
        raise ValueError(f"input shape {tuple(input.shape)} does not match feat/filter size, expected {expected}")

    # Channels become the batch and (sequence, image) the input channels, so that a grouped correlation with the
    # input as kernel sums over images and spatial positions for every (channel, filter offset) pair at once.
    feat_t = feat.permute(2, 1, 0, 3, 4).reshape(n_channels, n_sequences * n_images, height, width)
    kernel = input.permute(1, 2, 0, 3, 4).reshape(n_sequences * n_filters, n_images, expected[-2], expected[-1])
    out = F.conv2d(feat_t, kernel, padding=(fh // 2, fw // 2), groups=n_sequences)
    out = out.reshape(n_channels, n_sequences, n_filters, fh, fw).permute(1, 2, 0, 3, 4)
    return out if multiple_filters else out.squeeze(1)


def filter_gradient(
    feat: torch.Tensor, filter: torch.Tensor, label: torch.Tensor | None = None, training: bool = True
) -> torch.Tensor:
    """Gradient of ``0.5 * ||apply_filter(feat, filter) - label||^2`` with respect to the filter.

    Args:
        feat: Features (n_images, n_sequences, C, H, W).
        filter: Filters (n_sequences, C, fH, fW) or (n_sequences, n_filters, C, fH, fW).
        label: Target scores shaped like ``apply_filter(feat, filter)``; ``None`` means zero.
        training: Passed to :func:`apply_feat_transpose` (no effect).

    Returns:
        Tensor shaped like ``filter``.
    """
    residuals = apply_filter(feat, filter)
    if label is not None:
        residuals = residuals - label
    return apply_feat_transpose(feat, residuals, filter.shape[-2:], training=training)
