"""Losses for probabilistic regression with an energy-based model (PrDiMP).

Danelljan et al., "Probabilistic Regression for Visual Tracking", CVPR 2020.

The network predicts unnormalised log-densities ("scores") ``s(y)``; the model density is
``p(y) = exp(s(y)) / Z`` with ``Z = integral exp(s(y)) dy``. The losses below estimate the integral either by Monte
Carlo sampling from a proposal density ``q`` (box regression) or on a uniform grid (classification score maps).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

__all__ = ["KLRegression", "KLRegressionGrid", "MLRegression"]


class KLRegression(nn.Module):
    """KL divergence ``KL(p_gt || p)`` (up to the constant entropy of ``p_gt``), estimated with MC samples.

    With ``N`` samples ``y_k ~ q`` along ``mc_dim``:

    ``L = logsumexp_k(s_k - log(q_k + eps)) - log(N) - mean_k(s_k * p_gt(y_k) / (q_k + eps))``

    The first two terms estimate ``log Z = log E_q[exp(s) / q]``, the last ``E_{p_gt}[s]`` by importance sampling.

    Args:
        eps: added to the sample densities before division and log.
    """

    def __init__(self, eps: float = 0.0):
        super().__init__()
        self.eps = eps

    def forward(
        self, scores: torch.Tensor, sample_density: torch.Tensor, gt_density: torch.Tensor, mc_dim: int = -1
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            scores: predicted scores ``s`` at the samples, (..., N, ...) with the N samples along ``mc_dim``.
            sample_density: proposal density ``q`` at the samples, same shape.
            gt_density: ground-truth density ``p_gt`` at the samples, same shape.
            mc_dim: dimension of the samples.

        Returns:
            Scalar: the estimate averaged over all other dimensions.
        """
        density = sample_density + self.eps
        log_z = torch.logsumexp(scores - torch.log(density), dim=mc_dim) - math.log(scores.shape[mc_dim])
        expected_score = torch.mean(scores * (gt_density / density), dim=mc_dim)
        return (log_z - expected_score).mean()


class MLRegression(nn.Module):
    """Negative log-likelihood ``-log p(y_gt)`` with ``log Z`` estimated from MC samples.

    The ground-truth sample is at index 0 along ``mc_dim`` (its density value is ignored; the data pipeline marks
    it with -1) and the ``N - 1`` others are drawn from ``q``:

    ``L = logsumexp_{k>=1}(s_k - log(q_k + eps)) - log(N - 1) - s_0``

    Args:
        eps: added to the sample densities before the log.
    """

    def __init__(self, eps: float = 0.0):
        super().__init__()
        self.eps = eps

    def forward(
        self,
        scores: torch.Tensor,
        sample_density: torch.Tensor,
        gt_density: torch.Tensor | None = None,
        mc_dim: int = -1,
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            scores: predicted scores, (..., N, ...) along ``mc_dim``; index 0 is the ground truth.
            sample_density: proposal densities, same shape (entry 0 unused).
            gt_density: unused.
            mc_dim: dimension of the samples (the original code only supported 1; any dimension works here).

        Returns:
            Scalar: the estimate averaged over all other dimensions.
        """
        num_samples = scores.shape[mc_dim]
        if num_samples < 2:
            raise ValueError("MLRegression needs the ground-truth sample plus at least one MC sample")
        samples = scores.narrow(mc_dim, 1, num_samples - 1)
        log_density = torch.log(sample_density.narrow(mc_dim, 1, num_samples - 1) + self.eps)
        log_z = torch.logsumexp(samples - log_density, dim=mc_dim) - math.log(num_samples - 1)
        return (log_z - scores.select(mc_dim, 0)).mean()


class KLRegressionGrid(nn.Module):
    """KL divergence ``KL(p_gt || p)`` (up to a constant) with the integrals evaluated on a uniform grid.

    With grid cells of area ``A`` (``grid_scale``) and ``gt_density`` sampled at the cells:

    ``L = logsumexp(s) + log(A) - A * sum(s * p_gt)``

    i.e. ``log Z ~ log(A * sum exp(s))`` and ``E_{p_gt}[s] ~ A * sum(s * p_gt)``.
    """

    def forward(
        self,
        scores: torch.Tensor,
        gt_density: torch.Tensor,
        grid_dim: int | tuple[int, ...] = -1,
        grid_scale: float = 1.0,
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            scores: predicted scores on the grid, e.g. (n_images, n_seq, H, W).
            gt_density: ground-truth density at the grid cells, same shape.
            grid_dim: grid dimension(s), e.g. ``(-2, -1)`` for score maps.
            grid_scale: area ``A`` of one grid cell.

        Returns:
            Scalar: the loss averaged over all non-grid dimensions.
        """
        score_corr = grid_scale * torch.sum(scores * gt_density, dim=grid_dim)
        loss = torch.logsumexp(scores, dim=grid_dim) + math.log(grid_scale) - score_corr
        return loss.mean()
