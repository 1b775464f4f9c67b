"""Resampling helpers for combining feature maps of different resolutions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["interpolate", "InterpCat"]


def interpolate(x: torch.Tensor, sz: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """Bilinearly resize a feature map, or return it unchanged if it already has the requested size.

    Args:
        x: Feature map (B, C, H, W).
        sz: Target size ``(H', W')``; a list, tuple, ``torch.Size`` or a 2-element tensor.

    Returns:
        ``x`` itself when ``(H, W) == (H', W')``, else a new tensor (B, C, H', W') (``align_corners=False``).
    """
    size = tuple(int(s) for s in (sz.tolist() if torch.is_tensor(sz) else sz))
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class InterpCat(nn.Module):
    """Resize feature maps to a common resolution and concatenate them along the channel dimension.

    The common resolution is that of the map with the smallest height (the first such map in iteration order),
    so coarser maps are never upsampled and finer ones are bilinearly downsampled. Holds no parameters.
    """

    def forward(self, input: Mapping[str, torch.Tensor] | Sequence[torch.Tensor]) -> torch.Tensor:
        """Resize and concatenate.

        Args:
            input: Feature maps (B, C_i, H_i, W_i), as a mapping (e.g. the backbone's ``OrderedDict``, in its
                order) or a sequence.

        Returns:
            Tensor (B, sum C_i, H, W), channels in input order.
        """
        maps = list(input.values()) if isinstance(input, Mapping) else list(input)
        if not maps:
            raise ValueError("InterpCat needs at least one feature map")
        target = min(maps, key=lambda t: t.shape[-2]).shape[-2:]
        return torch.cat([interpolate(t, target) for t in maps], dim=-3)
