"""Differentiable filter optimizers of the DiMP family (the "model predictor" steepest-descent modules).

Each module refines initial filters ``w`` (n_sequences, C, fs, fs) on training features ``x`` (n_images,
n_sequences, C, H, W) with target boxes ``bb`` (n_images, n_sequences, 4, ``[x, y, w, h]`` image pixels) by a few
steepest-descent iterations whose step length is chosen in closed form (Gauss-Newton or Newton along the gradient).
The whole loop is differentiable, so the meta-parameters (step length, regularisation, the label/mask/weight
predictors) are learned end to end.

Notation: scores ``s = x * w`` (:func:`apply_filter`, one score map of size ``H' x W'`` per image and sequence,
``H' = H + (fs + 1) % 2``), ``X^T`` its adjoint (:func:`apply_feat_transpose`), ``lambda`` the filter
regularisation. Target centres are taken in feature cells, ``(bb_xy + bb_wh / 2) / feat_stride`` as ``(y, x)``,
minus ``(fs % 2) / 2`` because an odd filter centred on cell ``k`` produces its score at ``k`` while an even one
produces it half a cell earlier.

All optimizers' ``forward(weights, feat, bb, sample_weight=None, num_iter=None, compute_losses=True)`` return
``(weights, weight_iterates, losses)``: the final filters, the list of all iterates starting with the initial
filters (``num_iter + 1`` entries) and, if ``compute_losses``, the objective (summed over images and sequences,
divided by ``n_sequences``) at each iterate, else an empty list.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ltr.models.layers import activation
from ltr.models.layers.distance import DistanceMap
from ltr.models.layers.filter import apply_feat_transpose, apply_filter

__all__ = ["DiMPSteepestDescentGN", "DiMPL2SteepestDescentGN", "PrDiMPSteepestDescentNewton"]

# Lower bound on the step-length denominator: keeps the step finite (and zero) when the gradient vanishes.
_ALPHA_DEN_MIN = 1e-8


def _target_centers(bb: torch.Tensor, feat_stride: float, filter_sz: torch.Size) -> torch.Tensor:
    """Box centres in score-map cells as ``(y, x)``, shape (n_images, n_sequences, 2)."""
    centers = (bb[..., :2] + bb[..., 2:] / 2) / feat_stride
    offset = torch.tensor([filter_sz[0] % 2, filter_sz[1] % 2], dtype=bb.dtype, device=bb.device) / 2.0
    return centers.flip((-1,)) - offset


def _output_size(feat: torch.Tensor, filter_sz: torch.Size) -> tuple[int, int]:
    return feat.shape[-2] + (filter_sz[0] + 1) % 2, feat.shape[-1] + (filter_sz[1] + 1) % 2


def _sqrt_sample_weight(
    sample_weight: torch.Tensor | float | None, n_images: int, n_sequences: int, like: torch.Tensor
) -> torch.Tensor:
    """Square root of the per-image sample weights, broadcastable to (n_images, n_sequences, H', W').

    ``None`` gives the uniform ``1 / n_images``; a tensor holds one weight per image (and sequence).
    """
    if sample_weight is None:
        return like.new_tensor(math.sqrt(1.0 / n_images))
    if torch.is_tensor(sample_weight):
        return sample_weight.sqrt().reshape(n_images, -1, 1, 1)
    return like.new_tensor(math.sqrt(sample_weight))


def _gauss_newton_alpha(
    weights_grad: torch.Tensor, scores_grad: torch.Tensor, reg: torch.Tensor, alpha_eps: float
) -> torch.Tensor:
    """Per-sequence Gauss-Newton step length ``||g||^2 / (||J g||^2 + (reg + alpha_eps) ||g||^2)``.

    Args:
        weights_grad: Gradient ``g`` (n_sequences, C, fs, fs).
        scores_grad: ``J g`` (n_images, n_sequences, H', W').
        reg: Regularisation weight (scalar tensor).
        alpha_eps: Extra damping added to ``reg`` in the denominator only.

    Returns:
        Step lengths (n_sequences, 1, 1, 1).
    """
    n_sequences = weights_grad.shape[0]
    alpha_num = (weights_grad * weights_grad).reshape(n_sequences, -1).sum(dim=1)
    jg_sq = (scores_grad * scores_grad).transpose(0, 1).reshape(n_sequences, -1).sum(dim=1)
    alpha_den = (jg_sq + (reg + alpha_eps) * alpha_num).clamp(min=_ALPHA_DEN_MIN)
    return (alpha_num / alpha_den).reshape(-1, 1, 1, 1)


def _needs_detach(i: int, detach_length: float) -> bool:
    """Whether iteration ``i`` starts from detached weights (no backprop through earlier iterations)."""
    if detach_length <= 0:
        return True
    return i > 0 and i % detach_length == 0


class DiMPSteepestDescentGN(nn.Module):
    """DiMP's optimizer: steepest descent with Gauss-Newton step length on a learned, masked L2 objective.

    Objective (per sequence, summed over its images ``i``):
    ``L(w) = sum_i || v_i . (f(x_i * w, m) - y) ||^2 + lambda ||w||^2`` with ``f`` the score activation whose
    negative slope ``m`` is the target mask (``f`` is the identity where ``m = 1`` and a ReLU where ``m = 0``), ``y``
    the label map, ``v_i = sqrt(sample_weight_i) * spatial_weight``. ``y``, ``m`` and the spatial weight are 1x1
    convolutions (``label_map_predictor``, ``target_mask_predictor``, ``spatial_weight_predictor``) over the
    :class:`DistanceMap` bins of each cell's distance to the target centre.

    One iteration, with residuals ``r = v . (f(s) - y)`` and ``J = v . f'(s) . X``:
    ``g = X^T(f'(s) . v . r) + lambda w`` (half the gradient of ``L``),
    ``alpha = ||g||^2 / (||J g||^2 + (lambda + alpha_eps) ||g||^2)`` (the minimiser of the Gauss-Newton model along
    ``-g`` when ``alpha_eps = 0``), ``w <- w - exp(log_step_length) * alpha * g``. ``lambda =
    max(filter_reg^2, min_filter_reg^2)``.

    Initialisation of the 1x1 predictors from the bin distances ``d_k = k * bin_displacement``: label weights
    ``g_k - min(g)`` with ``g_k = exp(-d_k^2 / (2 init_gauss_sigma^2))`` (one-hot on bin 0 for ``init_gauss_sigma =
    0``); mask weights ``mask_init_factor * tanh(2 - d_k) + b`` (``b = 0`` for ``mask_act='sigmoid'``, ``0.5`` for
    ``'linear'``); spatial weights 1.

    Args:
        num_iter: Default number of iterations.
        feat_stride: Image pixels per feature cell.
        init_step_length: Initial step-length factor (stored as its log).
        init_filter_reg: Initial ``filter_reg`` (``lambda = filter_reg^2``).
        init_gauss_sigma: Width (in cells) of the initial label function.
        num_dist_bins: Number of distance bins.
        bin_displacement: Distance between bin centres, in cells.
        mask_init_factor: Scale of the initial mask function.
        score_act: ``'relu'`` (:class:`LeakyReluPar`) or ``'bentpar'`` (:class:`BentIdentPar` with ``b =
            act_param``).
        act_param: Parameter of the ``'bentpar'`` activation.
        min_filter_reg: Lower bound on ``filter_reg``.
        mask_act: ``'sigmoid'`` or ``'linear'`` output of the mask predictor.
        detach_length: Gradients flow through this many iterations before the weights are detached (``inf``: all,
            ``0``: none).
        alpha_eps: Extra damping of the step length.
    """

    def __init__(
        self,
        num_iter: int = 1,
        feat_stride: int = 16,
        init_step_length: float = 1.0,
        init_filter_reg: float = 1e-2,
        init_gauss_sigma: float = 1.0,
        num_dist_bins: int = 5,
        bin_displacement: float = 1.0,
        mask_init_factor: float = 4.0,
        score_act: str = "relu",
        act_param: float | None = None,
        min_filter_reg: float = 1e-3,
        mask_act: str = "sigmoid",
        detach_length: float = float("inf"),
        alpha_eps: float = 0.0,
    ):
        super().__init__()
        self.num_iter = num_iter
        self.feat_stride = feat_stride
        self.log_step_length = nn.Parameter(math.log(init_step_length) * torch.ones(1))
        self.filter_reg = nn.Parameter(init_filter_reg * torch.ones(1))
        self.distance_map = DistanceMap(num_dist_bins, bin_displacement)
        self.min_filter_reg = min_filter_reg
        self.detach_length = detach_length
        self.alpha_eps = alpha_eps

        d = torch.arange(num_dist_bins, dtype=torch.float32).reshape(1, -1, 1, 1) * bin_displacement
        if init_gauss_sigma == 0:
            init_gauss = torch.zeros_like(d)
            init_gauss[0, 0, 0, 0] = 1.0
        else:
            init_gauss = torch.exp(-0.5 * (d / init_gauss_sigma) ** 2)

        self.label_map_predictor = nn.Conv2d(num_dist_bins, 1, kernel_size=1, bias=False)
        self.label_map_predictor.weight.data = init_gauss - init_gauss.min()

        mask_acts = {"sigmoid": (nn.Sigmoid, 0.0), "linear": (None, 0.5)}
        if mask_act not in mask_acts:
            raise ValueError(f"mask_act must be one of {list(mask_acts)}, got {mask_act!r}")
        act_cls, init_bias = mask_acts[mask_act]
        mask_layers: list[nn.Module] = [nn.Conv2d(num_dist_bins, 1, kernel_size=1, bias=False)]
        if act_cls is not None:
            mask_layers.append(act_cls())
        self.target_mask_predictor = nn.Sequential(*mask_layers)
        self.target_mask_predictor[0].weight.data = mask_init_factor * torch.tanh(2.0 - d) + init_bias

        self.spatial_weight_predictor = nn.Conv2d(num_dist_bins, 1, kernel_size=1, bias=False)
        self.spatial_weight_predictor.weight.data.fill_(1.0)

        if score_act == "bentpar":
            if act_param is None:
                raise ValueError("score_act='bentpar' needs act_param (the bend width b)")
            self.score_activation = activation.BentIdentPar(act_param)
            self.score_activation_deriv = activation.BentIdentParDeriv(act_param)
        elif score_act == "relu":
            self.score_activation = activation.LeakyReluPar()
            self.score_activation_deriv = activation.LeakyReluParDeriv()
        else:
            raise ValueError(f"score_act must be 'relu' or 'bentpar', got {score_act!r}")

    def forward(
        self,
        weights: torch.Tensor,
        feat: torch.Tensor,
        bb: torch.Tensor,
        sample_weight: torch.Tensor | float | None = None,
        num_iter: int | None = None,
        compute_losses: bool = True,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Run the optimizer.

        Args:
            weights: Initial filters (n_sequences, C, fs, fs).
            feat: Training features (n_images, n_sequences, C, H, W).
            bb: Target boxes (n_images, n_sequences, 4), ``[x, y, w, h]`` in image pixels.
            sample_weight: Per-image weights (n_images, n_sequences) or (n_images,) etc.; ``None``: ``1/n_images``.
            num_iter: Number of iterations (default ``self.num_iter``).
            compute_losses: Evaluate the objective at every iterate.

        Returns:
            ``(weights, weight_iterates, losses)`` as described in the module docstring; losses are
            ``L(w) / n_sequences`` (scalars).
        """
        num_iter = self.num_iter if num_iter is None else num_iter
        n_images, n_sequences = feat.shape[:2]
        filter_sz = weights.shape[-2:]
        output_sz = _output_size(feat, filter_sz)

        step_length_factor = torch.exp(self.log_step_length)
        reg_weight = (self.filter_reg * self.filter_reg).clamp(min=self.min_filter_reg**2)

        center = _target_centers(bb, self.feat_stride, filter_sz)
        dist_map = self.distance_map(center, output_sz)
        map_shape = (n_images, n_sequences, *dist_map.shape[-2:])
        label_map = self.label_map_predictor(dist_map).reshape(map_shape)
        target_mask = self.target_mask_predictor(dist_map).reshape(map_shape)
        spatial_weight = self.spatial_weight_predictor(dist_map).reshape(map_shape)
        sample_weight = _sqrt_sample_weight(sample_weight, n_images, n_sequences, feat) * spatial_weight

        def loss_of(w: torch.Tensor) -> torch.Tensor:
            scores_act = self.score_activation(apply_filter(feat, w), target_mask)
            res = sample_weight * (scores_act - label_map)
            return ((res * res).sum() + reg_weight * (w * w).sum()) / n_sequences

        weight_iterates = [weights]
        losses: list[torch.Tensor] = []
        for i in range(num_iter):
            if _needs_detach(i, self.detach_length):
                weights = weights.detach()

            scores = apply_filter(feat, weights)
            scores_act = self.score_activation(scores, target_mask)
            score_mask = self.score_activation_deriv(scores, target_mask)
            residuals = sample_weight * (scores_act - label_map)
            if compute_losses:
                losses.append(((residuals * residuals).sum() + reg_weight * (weights * weights).sum()) / n_sequences)

            residuals_mapped = score_mask * (sample_weight * residuals)
            weights_grad = (
                apply_feat_transpose(feat, residuals_mapped, filter_sz, training=self.training) + reg_weight * weights
            )
            scores_grad = sample_weight * (score_mask * apply_filter(feat, weights_grad))
            alpha = _gauss_newton_alpha(weights_grad, scores_grad, reg_weight, self.alpha_eps)

            weights = weights - step_length_factor * alpha * weights_grad
            weight_iterates.append(weights)

        if compute_losses:
            losses.append(loss_of(weights))
        return weights, weight_iterates, losses


class DiMPL2SteepestDescentGN(nn.Module):
    """Steepest descent with Gauss-Newton step length on a fixed Gaussian-label hinge/L2 objective.

    ``L(w) = sum_i || v_i . (f(x_i * w) - y) ||^2 + lambda ||w||^2`` with the Gaussian label
    ``y = exp(-|k - c|^2 / (2 gauss_sigma^2))`` around the target centre ``c`` (cells), set to 0 where it does not
    exceed ``hinge_threshold``; ``f`` is the identity where ``y > hinge_threshold`` and a ReLU elsewhere (so
    negative scores on the background cost nothing). The default threshold -999 gives a plain least-squares
    objective. ``v_i = sqrt(sample_weight_i)``. Iterations as in :class:`DiMPSteepestDescentGN`.

    Args:
        num_iter: Default number of iterations.
        feat_stride: Image pixels per feature cell.
        init_step_length: Initial step-length factor (stored as its log).
        gauss_sigma: Label width in cells (``> 0``).
        hinge_threshold: Label threshold of the hinge region.
        init_filter_reg: Initial ``filter_reg`` (``lambda = filter_reg^2``).
        min_filter_reg: Lower bound on ``filter_reg``.
        detach_length: See :class:`DiMPSteepestDescentGN`.
        alpha_eps: Extra damping of the step length.
    """

    def __init__(
        self,
        num_iter: int = 1,
        feat_stride: int = 16,
        init_step_length: float = 1.0,
        gauss_sigma: float = 1.0,
        hinge_threshold: float = -999,
        init_filter_reg: float = 1e-2,
        min_filter_reg: float = 1e-3,
        detach_length: float = float("inf"),
        alpha_eps: float = 0.0,
    ):
        super().__init__()
        if gauss_sigma <= 0:
            raise ValueError(f"gauss_sigma must be positive, got {gauss_sigma}")
        self.num_iter = num_iter
        self.feat_stride = feat_stride
        self.log_step_length = nn.Parameter(math.log(init_step_length) * torch.ones(1))
        self.filter_reg = nn.Parameter(init_filter_reg * torch.ones(1))
        self.gauss_sigma = gauss_sigma
        self.hinge_threshold = hinge_threshold
        self.min_filter_reg = min_filter_reg
        self.detach_length = detach_length
        self.alpha_eps = alpha_eps

    def get_label(self, center: torch.Tensor, output_sz: tuple[int, int]) -> torch.Tensor:
        """Gaussian label maps.

        Args:
            center: Centres ``(y, x)`` in cells, (n_images, n_sequences, 2).
            output_sz: Score map size ``(H', W')``.

        Returns:
            Labels (n_images, n_sequences, H', W'), 1 at the centre.
        """
        rows = torch.arange(output_sz[0], dtype=center.dtype, device=center.device).reshape(1, 1, -1, 1)
        cols = torch.arange(output_sz[1], dtype=center.dtype, device=center.device).reshape(1, 1, 1, -1)
        dy = rows - center[..., 0:1].unsqueeze(-1)
        dx = cols - center[..., 1:2].unsqueeze(-1)
        return torch.exp(-(dy * dy + dx * dx) / (2.0 * self.gauss_sigma**2))

    def forward(
        self,
        weights: torch.Tensor,
        feat: torch.Tensor,
        bb: torch.Tensor,
        sample_weight: torch.Tensor | float | None = None,
        num_iter: int | None = None,
        compute_losses: bool = True,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Run the optimizer; arguments and returns as :meth:`DiMPSteepestDescentGN.forward`."""
        num_iter = self.num_iter if num_iter is None else num_iter
        n_images, n_sequences = feat.shape[:2]
        filter_sz = weights.shape[-2:]
        output_sz = _output_size(feat, filter_sz)

        step_length_factor = torch.exp(self.log_step_length)
        reg_weight = (self.filter_reg * self.filter_reg).clamp(min=self.min_filter_reg**2)

        center = _target_centers(bb, self.feat_stride, filter_sz)
        label_map = self.get_label(center, output_sz)
        target_mask = (label_map > self.hinge_threshold).to(label_map.dtype)
        label_map = label_map * target_mask
        sample_weight = _sqrt_sample_weight(sample_weight, n_images, n_sequences, feat)

        def activate(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            scores_act = target_mask * scores + (1.0 - target_mask) * torch.relu(scores)
            score_mask = target_mask + (1.0 - target_mask) * (scores > 0).to(scores.dtype)
            return scores_act, score_mask

        def objective(res: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return ((res * res).sum() + reg_weight * (w * w).sum()) / n_sequences

        weight_iterates = [weights]
        losses: list[torch.Tensor] = []
        for i in range(num_iter):
            if _needs_detach(i, self.detach_length):
                weights = weights.detach()

            scores_act, score_mask = activate(apply_filter(feat, weights))
            residuals = sample_weight * (scores_act - label_map)
            if compute_losses:
                losses.append(objective(residuals, weights))

            residuals_mapped = score_mask * (sample_weight * residuals)
            weights_grad = (
                apply_feat_transpose(feat, residuals_mapped, filter_sz, training=self.training) + reg_weight * weights
            )
            scores_grad = sample_weight * (score_mask * apply_filter(feat, weights_grad))
            alpha = _gauss_newton_alpha(weights_grad, scores_grad, reg_weight, self.alpha_eps)

            weights = weights - step_length_factor * alpha * weights_grad
            weight_iterates.append(weights)

        if compute_losses:
            scores_act, _ = activate(apply_filter(feat, weights))
            losses.append(objective(sample_weight * (scores_act - label_map), weights))
        return weights, weight_iterates, losses


class PrDiMPSteepestDescentNewton(nn.Module):
    """PrDiMP's optimizer: steepest descent with Newton step length on a KL / cross-entropy objective.

    Each score map ``s_i`` (``H' x W'`` cells) is read as the logits of a distribution over target positions,
    ``p_i = softmax(s_i)`` (with ``softmax_reg = r``: ``p_i = exp(s_i) / (r + sum exp(s_i))``, an implicit
    "no target" logit ``log r``), and fitted to the label distribution ``y_i``:

    ``L(w) = sum_i c_i (lse(s_i) - <y_i, s_i>) + (lambda / 2) ||w||^2``,

    ``lse = log sum exp`` (``log(r + sum exp)`` with ``softmax_reg``), ``c_i`` the sample weights (default
    ``1 / n_images``, *not* square-rooted). Up to a constant, the data term is ``KL(y_i || p_i)``. Its gradient is
    ``g = X^T(c . (p - y)) + lambda w``, and the Hessian of ``lse`` with respect to the scores is ``diag(p) -
    p p^T``, so the exact curvature along ``g`` is
    ``g^T H g = sum_i c_i (<p_i, (Jg)_i^2> - <p_i, (Jg)_i>^2) + lambda ||g||^2`` with ``Jg = x * g``. The step is
    ``w <- w - exp(log_step_length) * alpha * g``, ``alpha = ||g||^2 / (g^T H g + alpha_eps ||g||^2)`` (the Newton
    minimiser along ``-g`` for ``alpha_eps = 0``), ``lambda = max(filter_reg^2, min_filter_reg^2)``.

    Label: the Gaussian density ``N(k; c, gauss_sigma^2 I)`` evaluated at the cells ``k`` (``1 / (2 pi sigma^2)``
    at the centre), zeroed where it does not exceed ``label_threshold``; with ``normalize_label`` divided by its
    sum (plus 1e-8); then mixed with the uniform distribution, ``(1 - u) y + u / (H' W')`` with ``u =
    init_uni_weight`` (0 if ``None``), and multiplied by ``1 - label_shrink``.

    Only ``log_step_length`` and ``filter_reg`` are parameters.

    Args:
        num_iter: Default number of iterations.
        feat_stride: Image pixels per feature cell.
        init_step_length: Initial step-length factor (stored as its log).
        init_filter_reg: Initial ``filter_reg``.
        gauss_sigma: Label standard deviation in cells (``> 0``).
        min_filter_reg: Lower bound on ``filter_reg``.
        detach_length: See :class:`DiMPSteepestDescentGN`.
        alpha_eps: Extra damping of the step length.
        init_uni_weight: Weight of the uniform component of the label.
        normalize_label: Normalise the thresholded Gaussian to sum 1.
        label_shrink: Fraction of label mass removed (left to the ``softmax_reg`` "no target" entry).
        softmax_reg: Weight ``r`` of the implicit extra softmax entry, or ``None``.
        label_threshold: Density values up to this are set to 0.
    """

    def __init__(
        self,
        num_iter: int = 1,
        feat_stride: int = 16,
        init_step_length: float = 1.0,
        init_filter_reg: float = 1e-2,
        gauss_sigma: float = 1.0,
        min_filter_reg: float = 1e-3,
        detach_length: float = float("inf"),
        alpha_eps: float = 0.0,
        init_uni_weight: float | None = None,
        normalize_label: bool = False,
        label_shrink: float = 0,
        softmax_reg: float | None = None,
        label_threshold: float = 0.0,
    ):
        super().__init__()
        if gauss_sigma <= 0:
            raise ValueError(f"gauss_sigma must be positive, got {gauss_sigma}")
        self.num_iter = num_iter
        self.feat_stride = feat_stride
        self.log_step_length = nn.Parameter(math.log(init_step_length) * torch.ones(1))
        self.filter_reg = nn.Parameter(init_filter_reg * torch.ones(1))
        self.gauss_sigma = gauss_sigma
        self.min_filter_reg = min_filter_reg
        self.detach_length = detach_length
        self.alpha_eps = alpha_eps
        self.uni_weight = 0.0 if init_uni_weight is None else init_uni_weight
        self.normalize_label = normalize_label
        self.label_shrink = label_shrink
        self.softmax_reg = softmax_reg
        self.label_threshold = label_threshold

    def get_label_density(self, center: torch.Tensor, output_sz: tuple[int, int]) -> torch.Tensor:
        """Label distributions over the score-map cells (see the class docstring).

        Args:
            center: Centres ``(y, x)`` in cells, (n_images, n_sequences, 2).
            output_sz: Score map size ``(H', W')``.

        Returns:
            Labels (n_images, n_sequences, H', W').
        """
        rows = torch.arange(output_sz[0], dtype=center.dtype, device=center.device).reshape(1, 1, -1, 1)
        cols = torch.arange(output_sz[1], dtype=center.dtype, device=center.device).reshape(1, 1, 1, -1)
        dy = rows - center[..., 0:1].unsqueeze(-1)
        dx = cols - center[..., 1:2].unsqueeze(-1)
        var = self.gauss_sigma**2
        density = torch.exp(-(dy * dy + dx * dx) / (2.0 * var)) / (2.0 * math.pi * var)
        density = density * (density > self.label_threshold).to(density.dtype)
        if self.normalize_label:
            density = density / (density.sum(dim=(-2, -1), keepdim=True) + 1e-8)
        num_cells = output_sz[0] * output_sz[1]
        density = (1.0 - self.uni_weight) * density + self.uni_weight / num_cells
        return (1.0 - self.label_shrink) * density

    def _log_partition(self, scores: torch.Tensor) -> torch.Tensor:
        """``lse`` over the last two dims (with the implicit ``softmax_reg`` entry), shape (n_images, n_sequences)."""
        flat = scores.reshape(*scores.shape[:-2], -1)
        if self.softmax_reg is not None:
            extra = flat.new_full((*flat.shape[:-1], 1), math.log(self.softmax_reg))
            flat = torch.cat((flat, extra), dim=-1)
        return torch.logsumexp(flat, dim=-1)

    def forward(
        self,
        weights: torch.Tensor,
        feat: torch.Tensor,
        bb: torch.Tensor,
        sample_weight: torch.Tensor | float | None = None,
        num_iter: int | None = None,
        compute_losses: bool = True,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Run the optimizer; arguments and returns as :meth:`DiMPSteepestDescentGN.forward`.

        ``sample_weight`` (if given) is used as is (linear weights ``c_i``), one per image (and sequence).
        """
        num_iter = self.num_iter if num_iter is None else num_iter
        n_images, n_sequences = feat.shape[:2]
        filter_sz = weights.shape[-2:]
        output_sz = _output_size(feat, filter_sz)

        step_length_factor = torch.exp(self.log_step_length)
        reg_weight = (self.filter_reg * self.filter_reg).clamp(min=self.min_filter_reg**2)

        center = _target_centers(bb, self.feat_stride, filter_sz)
        label_density = self.get_label_density(center, output_sz)
        # Shape (n_images, n_sequences or 1, 1, 1) in every case, so that [..., 0, 0] gives per-image weights.
        if sample_weight is None:
            sample_weight = feat.new_full((1, 1, 1, 1), 1.0 / n_images)
        elif torch.is_tensor(sample_weight):
            sample_weight = sample_weight.reshape(n_images, -1, 1, 1)
        else:
            sample_weight = feat.new_full((1, 1, 1, 1), float(sample_weight))

        def objective(scores: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            cross_entropy = self._log_partition(scores) - (label_density * scores).sum(dim=(-2, -1))
            data = (sample_weight[..., 0, 0] * cross_entropy).sum()
            return (data + 0.5 * reg_weight * (w * w).sum()) / n_sequences

        weight_iterates = [weights]
        losses: list[torch.Tensor] = []
        for i in range(num_iter):
            if _needs_detach(i, self.detach_length):
                weights = weights.detach()

            scores = apply_filter(feat, weights)
            if compute_losses:
                losses.append(objective(scores, weights))
            scores_softmax = activation.softmax_reg(
                scores.reshape(n_images, n_sequences, -1), dim=2, reg=self.softmax_reg
            ).reshape(scores.shape)
            res = sample_weight * (scores_softmax - label_density)
            weights_grad = apply_feat_transpose(feat, res, filter_sz, training=self.training) + reg_weight * weights

            # Curvature of the data term along g: sum_i c_i (<p, (Jg)^2> - <p, Jg>^2).
            scores_grad = apply_filter(feat, weights_grad)
            sm_scores_grad = scores_softmax * scores_grad
            hes_scores_grad = sm_scores_grad - scores_softmax * sm_scores_grad.sum(dim=(-2, -1), keepdim=True)
            grad_hes_grad = (scores_grad * hes_scores_grad).reshape(n_images, n_sequences, -1).sum(dim=2)
            grad_hes_grad = (sample_weight[..., 0, 0] * grad_hes_grad).sum(dim=0)

            alpha_num = (weights_grad * weights_grad).reshape(n_sequences, -1).sum(dim=1)
            alpha_den = (grad_hes_grad + (reg_weight + self.alpha_eps) * alpha_num).clamp(min=_ALPHA_DEN_MIN)
            alpha = (alpha_num / alpha_den).reshape(-1, 1, 1, 1)

            weights = weights - step_length_factor * alpha * weights_grad
            weight_iterates.append(weights)

        if compute_losses:
            losses.append(objective(apply_filter(feat, weights), weights))
        return weights, weight_iterates, losses
