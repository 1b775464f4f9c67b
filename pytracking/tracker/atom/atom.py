"""ATOM tracker (Danelljan et al., "ATOM: Accurate Tracking by Overlap Maximization", CVPR 2019).

Target localisation uses an online classifier learned on the first frame and updated while tracking: deep
features (ResNet-18 ``layer3``) are compressed by a learned 1x1 projection and correlated with a learned filter;
the filter and the projection are fitted jointly by Gauss-Newton on the first frame (augmented samples), later
frames refine the filter alone by conjugate gradient on a memory of past samples. The classifier's peak gives the
position; the IoU-Net of the ATOM network then refines the box by gradient ascent on its predicted overlap.

State conventions (shared with DiMP): ``pos = [cy, cx]`` with ``cy = y + (h - 1) / 2``, ``target_sz = [h, w]``;
boxes handed to the IoU-Net are ``[x, y, w, h]`` in pixels of the sampled patch. All randomness (augmentation
shifts, dropout, random initialisations and IoU-Net proposals) comes from torch's RNG, so a seeded run is
reproducible.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from pytracking.features import augmentation
from pytracking.features.preprocessing import numpy_to_torch
from pytracking.libs import dcf, fourier, operation
from pytracking.libs.optimization import ConjugateGradient, GaussNewtonCG, GradientDescentL2
from pytracking.libs.tensorlist import TensorList
from pytracking.tracker.atom.optim import ConvProblem, FactorizedConvProblem, make_activation
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.tracker.base.box_refinement import RefinementSettings, refine_box
from pytracking.tracker.base.io_contract import FrameInfo, InitInfo, TrackerOutput
from pytracking.tracker.base.localization import LocalizationThresholds, localize_advanced, localize_simple
from pytracking.tracker.base.target_state import TargetStateMixin
from pytracking.tracker.dimp.memory import SampleMemory
from pytracking.utils.params import TrackerParams

__all__ = ["ATOM"]

_OPTIMIZERS = ("GaussNewtonCG", "GradientDescentL2")
# Transforms whose samples keep the target box (up to their shift): usable for the IoU-Net modulation.
_BOX_PRESERVING = (
    augmentation.Identity,
    augmentation.Translation,
    augmentation.FlipHorizontal,
    augmentation.FlipVertical,
    augmentation.Blur,
)


class ATOM(TargetStateMixin, BaseTracker):
    """ATOM tracker. ``params.features`` is a ``MultiResolutionExtractor`` holding an ``ATOMResNet18`` feature
    whose ``fparams.feature_params`` carry the per-feature parameters (:attr:`FEATURE_DEFAULTS`)."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        # Features and device
        "features": None,  # MultiResolutionExtractor([ATOMResNet18(...)]) (set by every parameter file)
        "use_gpu": torch.cuda.is_available(),  # read by the parameter files when building the features
        # Search region
        "max_image_sample_size": (18 * 16) ** 2,  # bounds on the sampled area (pixels^2) at scale 1
        "min_image_sample_size": (18 * 16) ** 2,
        "search_area_scale": 5.0,  # search region side / target side (geometric mean)
        "search_area_shape": "square",  # 'square' | 'initrect' (the initial box's aspect ratio)
        "feature_size_odd": False,  # make the feature map odd (for odd kernels) or even (even kernels)
        "target_inside_ratio": 0.2,  # part of the target that must stay inside the image
        # Optimisation
        "optimizer": "GaussNewtonCG",  # 'GaussNewtonCG' (CG-based) | 'GradientDescentL2'
        "optimizer_step_length": 1.0,  # GradientDescentL2 only
        "optimizer_momentum": 0.0,  # GradientDescentL2 only
        "CG_iter": 5,  # CG iterations of each regular update
        "init_CG_iter": 60,  # CG iterations on the first frame in total (int, or one count per GN iteration)
        "init_GN_iter": 6,  # Gauss-Newton iterations on the first frame
        "post_init_CG_iter": 0,  # filter-only CG iterations after the joint optimisation
        "hard_negative_CG_iter": 5,  # CG iterations after a hard negative
        "fletcher_reeves": False,  # filter CG: Fletcher-Reeves (True) or Polak-Ribiere (False)
        "standard_alpha": True,  # filter CG: standard step-length formula
        "CG_forgetting_rate": None,  # None: restart CG every update; else keep (1 - lr) ** rate of the direction
        # Sample memory
        "sample_memory_size": 250,
        "train_skipping": 10,  # run CG every this many frames
        # Factorised convolution
        "use_projection_matrix": True,
        "update_projection_matrix": True,  # optimise the projection jointly on the first frame
        "proj_init_method": "pca",  # 'pca' | 'randn'
        "filter_init_method": "zeros",  # 'zeros' | 'randn'
        "projection_activation": "none",  # 'none' | 'relu' | 'elu' | ('mlu', a)
        "response_activation": "none",  # same choices; applied in the training loss only
        # Windowing and scores
        "feature_window": False,  # multiply the features with a Hann window
        "window_output": False,  # multiply the scores with a Hann window
        "use_clipped_window": False,
        "effective_search_area": None,  # window extent (search-area-scale units) of the clipped window
        "perform_hn_without_windowing": False,  # look for distractors in the un-windowed scores
        "scale_factors": None,  # search scales relative to the current scale (None: one scale)
        "score_upsample_factor": 1,  # score map resolution (Fourier interpolation), in cells per image pixel
        # First-frame augmentation
        "augmentation": {},
        "augmentation_expansion_factor": None,  # sample this much more around the target before transforming
        "random_shift_factor": 0.0,  # random shift of each non-translation transform (x sample size)
        # Localisation
        "advanced_localization": True,
        **LocalizationThresholds.param_defaults(),  # target_not_found_threshold, distractor_threshold ...
        "hard_negative_learning_rate": 0.02,
        "update_scale_when_uncertain": True,
        "use_classifier": True,
        # IoU-Net refinement
        "use_iou_net": True,
        "iounet_augmentation": False,  # average the modulation over the box-preserving augmented samples
        "use_iounet_pos_for_learning": True,
        **RefinementSettings.param_defaults(),  # iounet_k, num_init_random_boxes, box_refinement_iter ...
        # Evaluation
        "vot_anno_conversion_type": "preserve_area",
    }

    FEATURE_DEFAULTS: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.01,  # weight of a new sample in the memory
        "init_samples_minimum_weight": 0.0,  # minimum total weight of the first-frame samples (0: not protected)
        "output_sigma_factor": 0.25,  # Gaussian label width relative to the target size
        "kernel_size": (4, 4),  # filter size in feature cells
        "compressed_dim": 64,  # output channels of the projection
        "filter_reg": 1e-1,
        "projection_reg": 1e-4,
        "use_augmentation": True,  # train on the augmented first-frame samples
        "translation_weight": 1.0,  # weight of this feature's scores when several are summed
    }
    """Per-feature parameters (``feature_params`` of each feature's ``fparams``)."""

    def __init__(self, params: TrackerParams | None = None):
        super().__init__(params)
        self.features: Any = None
        self.features_initialized = False
        self.debug_info: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------------------------
    # Initialisation

    def initialize_features(self) -> None:
        """Load the feature networks (once per tracker)."""
        if not self.features_initialized:
            self.params.features.initialize()
        self.features_initialized = True

    def initialize(self, image: np.ndarray, info: InitInfo) -> TrackerOutput:
        """Learn the classifier and the IoU-Net modulation on the first frame (see the module docstring)."""
        start = time.perf_counter()
        p = self.params
        if p.features is None:
            raise ValueError("ATOM needs params.features (a MultiResolutionExtractor); set it in the parameter file")
        if p.optimizer not in _OPTIMIZERS:
            raise ValueError(f"unknown optimizer {p.optimizer!r}; use one of {_OPTIMIZERS}")
        self.features = p.features
        self.initialize_features()
        self.features.set_is_color(image.ndim == 3 and image.shape[2] == 3)
        self.fparams = TensorList(self.features.get_fparams("feature_params"))
        self.frame_num = 1

        state = [float(v) for v in info["init_bbox"]]
        self.pos = torch.tensor([state[1] + (state[3] - 1) / 2, state[0] + (state[2] - 1) / 2])
        self.target_sz = torch.tensor([state[3], state[2]])
        if (self.target_sz <= 0).any():
            raise ValueError(f"init_bbox needs a positive width and height, got {info['init_bbox']}")

        im = numpy_to_torch(image)
        self.image_sz = torch.tensor([float(im.shape[2]), float(im.shape[3])])
        self.setup_sample_size()
        self.min_scale_factor = float(torch.max(10 / self.base_target_sz))
        self.max_scale_factor = float(torch.min(self.image_sz / self.base_target_sz))
        self.init_learning()

        x = self.generate_init_samples(im)
        self.device = x[0].device
        if p.use_iou_net:
            self.init_iou_net()
        self.init_projection_matrix(x)

        self.feature_sz = TensorList(torch.tensor([float(e.shape[-2]), float(e.shape[-1])]) for e in x)
        self.setup_windows()
        train_x = self.preprocess_sample(x)
        init_boxes = self.init_target_boxes(train_x)
        # Label width: output_sigma_factor times the target size, in feature cells (geometric mean of h and w).
        self.sigma = TensorList(
            (sz / self.img_support_sz * self.base_target_sz).prod().sqrt() * fp.output_sigma_factor * torch.ones(2)
            for sz, fp in zip(self.feature_sz, self.fparams)
        )
        init_y = TensorList(self.label_function(boxes, i) for i, boxes in enumerate(init_boxes))
        self.init_optimization(train_x, init_y, init_boxes)
        self.pos_iounet = self.pos.clone()
        return {"time": time.perf_counter() - start}

    def setup_sample_size(self) -> None:
        """Sample scale and square (or box-shaped) sample size, adjusted to the feature stride's parity."""
        p = self.params
        search_area = float(torch.prod(self.target_sz * p.search_area_scale))
        self.target_scale = 1.0
        if search_area > p.max_image_sample_size:
            self.target_scale = math.sqrt(search_area / p.max_image_sample_size)
        elif search_area < p.min_image_sample_size:
            self.target_scale = math.sqrt(search_area / p.min_image_sample_size)
        self.base_target_sz = self.target_sz / self.target_scale

        stride = float(max(self.features.stride()))
        if p.search_area_shape == "square":
            side = torch.round(torch.sqrt(torch.prod(self.base_target_sz * p.search_area_scale)))
            self.img_sample_sz = side * torch.ones(2)
        elif p.search_area_shape == "initrect":
            self.img_sample_sz = torch.round(self.base_target_sz * p.search_area_scale)
        else:
            raise ValueError(f"unknown search_area_shape {p.search_area_shape!r}; use 'square' or 'initrect'")
        # Snap to an odd (or even) multiple of the stride, so the feature map has the wanted parity.
        if p.feature_size_odd:
            self.img_sample_sz += stride - self.img_sample_sz % (2 * stride)
        else:
            self.img_sample_sz += stride - (self.img_sample_sz + stride) % (2 * stride)
        self.img_support_sz = self.img_sample_sz.clone()
        self.output_sz = (p.score_upsample_factor * self.img_support_sz).round()
        self.scale_factors = (
            torch.ones(1) if p.scale_factors is None else torch.as_tensor(p.scale_factors, dtype=torch.float32)
        ).reshape(-1)

    def init_learning(self) -> None:
        """Regularisation weights, activations, kernel sizes and the CG direction-forgetting factor."""
        p = self.params
        self.filter_reg = [float(r) for r in self.fparams.attribute("filter_reg")]
        self.projection_activation = make_activation(p.projection_activation)
        self.response_activation = make_activation(p.response_activation)
        self.kernel_size = TensorList(
            torch.tensor([float(k), float(k)] if isinstance(k, int | float) else [float(v) for v in k])
            for k in self.fparams.attribute("kernel_size")
        )
        max_lr = max(float(lr) for lr in self.fparams.attribute("learning_rate"))
        if p.CG_forgetting_rate is None or max_lr >= 1:
            self.direction_forget_factor = 0.0
        else:
            self.direction_forget_factor = (1 - max_lr) ** p.CG_forgetting_rate

    def setup_windows(self) -> None:
        """Feature windows (``feature_window``) and the score window on the centred score grid."""
        p = self.params
        self.feature_window = None
        if p.feature_window:
            self.feature_window = TensorList(dcf.hann2d(sz.long()).to(self.device) for sz in self.feature_sz)
        grid = self.output_sz.long()
        # The localisation grid is odd so that its middle cell is the zero displacement (see upsample_scores).
        self.score_sz = grid - (grid + 1) % 2
        self.output_window = None
        if p.window_output:
            if p.use_clipped_window:
                eff = (self.score_sz.float() * p.effective_search_area / p.search_area_scale).long()
                window = dcf.hann2d_clipped(self.score_sz, eff, centered=True)
            else:
                window = dcf.hann2d(self.score_sz, centered=True)
            self.output_window = window.to(self.device)

    def generate_init_samples(self, im: torch.Tensor) -> TensorList:
        """Features of the augmented first-frame samples, one ``(N_i, C_i, H_i, W_i)`` map per feature.

        Transforms: identity first, then shifts, relative shifts, flip, blurs, scales and rotations (each
        non-translation transform with a random shift), then ``dropout`` copies of the identity sample.
        Sets ``transforms`` (one per sample, dropout copies included).
        """
        p = self.params
        aug = p.augmentation or {}
        factor = p.augmentation_expansion_factor
        expansion_sz = augmentation.expanded_sample_size(self.img_sample_sz, factor)
        out_sz = None if factor is None or factor == 1 else self.img_sample_sz.long().tolist()
        self.transforms = augmentation.init_transforms(aug, self.img_sample_sz, out_sz, p.random_shift_factor)

        samples = self.features.extract_transformed(
            im, self.pos.round(), self.target_scale, expansion_sz, self.transforms
        )
        use_aug = list(self.fparams.attribute("use_augmentation", True))
        samples = TensorList(s if use else s[:1] for s, use in zip(samples, use_aug))
        if "dropout" in aug:
            num, prob = aug["dropout"]
            self.transforms.extend(self.transforms[:1] * num)
            samples = TensorList(
                torch.cat([s, F.dropout2d(s[:1].expand(num, -1, -1, -1), p=prob, training=True)]) if use else s
                for s, use in zip(samples, use_aug)
            )
        return samples

    def init_iou_net(self) -> None:
        """IoU-Net modulation vectors from the first frame (averaged over the used samples)."""
        p = self.params
        self.iou_predictor = self.features.get_unique_attribute("iou_predictor")
        for param in self.iou_predictor.parameters():
            param.requires_grad_(False)
        box = self.get_iounet_box(self.pos, self.target_sz, self.pos.round(), self.target_scale)
        boxes = [box]
        if p.iounet_augmentation:
            boxes = []
            for t in self.transforms:
                if not isinstance(t, _BOX_PRESERVING):
                    break
                boxes.append(box + torch.tensor([t.shift[1], t.shift[0], 0.0, 0.0]))
        # The backbone maps of the extraction just made (the augmented samples in transform order; the dropout
        # copies appended afterwards have none).
        backbone = self.features.get_unique_attribute("iounet_backbone_features")
        boxes = boxes[: backbone[0].shape[0]]
        feats = [f[: len(boxes)] for f in backbone]
        with torch.no_grad():
            modulation = self.iou_predictor.get_modulation(feats, torch.stack(boxes).to(feats[0].device))
        self.iou_modulation = [m.detach().mean(0, keepdim=True) for m in modulation]

    def init_projection_matrix(self, x: TensorList) -> None:
        """Initial projection ``(compressed_dim, C, 1, 1)`` per feature: top principal directions or random."""
        p = self.params
        if not p.use_projection_matrix:
            self.compressed_dim = [e.shape[1] for e in x]
            self.projection_matrix = None
            return
        self.compressed_dim = [int(d) for d in self.fparams.attribute("compressed_dim")]
        if p.proj_init_method == "pca":
            self.projection_matrix = TensorList(pca_projection(e, d) for e, d in zip(x, self.compressed_dim))
        elif p.proj_init_method == "randn":
            self.projection_matrix = TensorList(
                e.new_empty(d, e.shape[1], 1, 1).normal_(0, 1 / math.sqrt(e.shape[1]))
                for e, d in zip(x, self.compressed_dim)
            )
        else:
            raise ValueError(f"unknown proj_init_method {p.proj_init_method!r}; use 'pca' or 'randn'")

    def init_target_boxes(self, train_x: TensorList) -> TensorList:
        """Target box ``[x, y, w, h]`` in each first-frame sample (moved by its transform's shift), per feature."""
        box = self.get_iounet_box(self.pos, self.target_sz, self.pos.round(), self.target_scale)
        shifts = torch.tensor([[t.shift[1], t.shift[0], 0.0, 0.0] for t in self.transforms])
        return TensorList(box + shifts[: e.shape[0]] for e in train_x)

    def init_optimization(self, train_x: TensorList, init_y: TensorList, init_boxes: TensorList) -> None:
        """Joint filter + projection fit (Gauss-Newton), the sample memory, and the filter optimizer."""
        p = self.params
        self.filter = TensorList(
            e.new_zeros(1, d, int(k[0]), int(k[1])) for e, d, k in zip(train_x, self.compressed_dim, self.kernel_size)
        )
        if p.filter_init_method == "randn":
            for f in self.filter:
                f.normal_(0, 1 / f.numel())
        elif p.filter_init_method != "zeros":
            raise ValueError(f"unknown filter_init_method {p.filter_init_method!r}; use 'zeros' or 'randn'")

        update_projection = p.update_projection_matrix and self.projection_matrix is not None
        total_init_iter = sum(p.init_CG_iter) if isinstance(p.init_CG_iter, list | tuple) else int(p.init_CG_iter)
        debug = p.get("debug", 0) >= 1
        if update_projection:
            joint_problem = FactorizedConvProblem(
                train_x,
                init_y,
                self.filter_reg,
                [float(r) for r in self.fparams.attribute("projection_reg")],
                TensorList(e.new_ones(1) / e.shape[0] for e in train_x),
                self.projection_activation,
                self.response_activation,
            )
            joint_var = self.filter.concat(self.projection_matrix)
            if p.optimizer == "GaussNewtonCG":
                # The first-frame joint solver keeps the library's default CG formulas (Fletcher-Reeves), as the
                # original; fletcher_reeves / standard_alpha configure the filter-only updates.
                joint_optimizer = GaussNewtonCG(joint_problem, joint_var, debug=debug)
            else:
                joint_optimizer = GradientDescentL2(
                    joint_problem, joint_var, p.optimizer_step_length, p.optimizer_momentum, debug=debug
                )
            with torch.enable_grad():
                if isinstance(p.init_CG_iter, list | tuple) and p.optimizer == "GaussNewtonCG":
                    joint_optimizer.run(list(p.init_CG_iter))
                else:
                    # Gradient descent takes the per-GN-iteration count as its number of steps, as the original.
                    joint_optimizer.run(total_init_iter // p.init_GN_iter, p.init_GN_iter)

        with torch.no_grad():
            compressed = self.project_sample(train_x)
        init_min_w = [float(w or 0.0) for w in self.fparams.attribute("init_samples_minimum_weight", 0.0)]
        capacity = [max(int(p.sample_memory_size), e.shape[0]) for e in compressed]
        self.memory = [
            SampleMemory(e, boxes, cap, w) for e, boxes, cap, w in zip(compressed, init_boxes, capacity, init_min_w)
        ]
        # Label maps of the stored samples, slot for slot with the memory.
        self.labels = TensorList()
        for y, cap in zip(init_y, capacity):
            labels = y.new_zeros(cap, *y.shape[1:])
            labels[: y.shape[0]] = y
            self.labels.append(labels)

        self.conv_problem = ConvProblem(
            TensorList(), TensorList(), self.filter_reg, TensorList(), self.response_activation
        )
        if p.optimizer == "GaussNewtonCG":
            self.filter_optimizer = ConjugateGradient(
                self.conv_problem,
                self.filter,
                fletcher_reeves=p.fletcher_reeves,
                standard_alpha=p.standard_alpha,
                direction_forget_factor=self.direction_forget_factor,
                debug=debug,
            )
        else:
            self.filter_optimizer = GradientDescentL2(
                self.conv_problem, self.filter, p.optimizer_step_length, p.optimizer_momentum, debug=debug
            )
        if not update_projection:
            self.run_filter_optimizer(total_init_iter)
        self.run_filter_optimizer(p.post_init_CG_iter)

    # ----------------------------------------------------------------------------------------------------------
    # Tracking

    def track(self, image: np.ndarray, info: FrameInfo | None = None) -> TrackerOutput:
        """Locate the target in the next frame and update the classifier (see the module docstring)."""
        p = self.params
        self.frame_num += 1
        timer = self.timer
        timer.start()
        im = numpy_to_torch(image)

        sample_pos = self.pos.round()
        sample_scales = self.target_scale * self.scale_factors
        with torch.no_grad():
            test_x = self.extract_processed_sample(im, sample_pos, sample_scales, self.img_sample_sz)
            timer.lap("features")  # crop + backbone + projection
            scores_raw = self.apply_filter(test_x)
            translation_vec, scale_ind, scores, flag = self.localize_target(scores_raw, sample_pos, sample_scales)
            timer.lap("localization")
        sample_scale = float(sample_scales[scale_ind])
        new_pos = sample_pos + translation_vec

        if flag != "not_found":
            if p.use_iou_net:
                update_scale = p.update_scale_when_uncertain or flag != "uncertain"
                if p.use_classifier:
                    self.update_state(new_pos)
                self.refine_target_box(sample_pos, sample_scale, scale_ind, update_scale)
            elif p.use_classifier:
                self.update_state(new_pos, sample_scale)

        score_map = scores[scale_ind, 0]
        self.debug_info = {"frame_num": self.frame_num, "flag": flag, "max_score": float(score_map.max())}
        if self.visdom is not None:
            self.visdom.register(score_map, "heatmap", 2, "Score Map")
            self.visdom.register(self.debug_info, "info_dict", 1, "Status")

        hard_negative = flag == "hard_negative"
        if flag not in ("not_found", "uncertain"):
            train_x = TensorList(x[scale_ind : scale_ind + 1] for x in test_x)
            box = self.get_iounet_box(self.pos, self.target_sz, sample_pos, sample_scale)
            self.update_memory(train_x, box, p.hard_negative_learning_rate if hard_negative else None)

        if hard_negative:
            self.run_filter_optimizer(p.hard_negative_CG_iter)
        elif (self.frame_num - 1) % p.train_skipping == 0:
            self.run_filter_optimizer(p.CG_iter)

        if p.use_iou_net and flag != "not_found":
            self.pos = self.pos_iounet.clone()
        timer.lap("update")

        bbox = self.current_box()
        self.visdom_draw_tracking(image, bbox)
        return {"target_bbox": bbox}

    def extract_processed_sample(
        self, im: torch.Tensor, pos: torch.Tensor, scales: torch.Tensor, sz: torch.Tensor
    ) -> TensorList:
        """Projected (and optionally windowed) features of the patches at ``pos`` for each of ``scales``."""
        x, _ = self.features.extract(im, pos, scales, sz)
        return self.preprocess_sample(self.project_sample(x))

    def project_sample(self, x: TensorList) -> TensorList:
        """Apply the projection matrix and its activation: ``(N, C, H, W) -> (N, compressed_dim, H, W)``."""
        if self.projection_matrix is None:
            return x
        return operation.conv1x1(x, self.projection_matrix).apply(self.projection_activation)

    def preprocess_sample(self, x: TensorList) -> TensorList:
        """Multiply by the feature window when ``feature_window`` is on."""
        if self.feature_window is None:
            return x
        return x * self.feature_window

    def apply_filter(self, x: TensorList) -> TensorList:
        """Classifier scores per feature, ``(S, 1, H_i, W_i)`` (the ``'same'`` correlation with the filter)."""
        return operation.conv2d(x, self.filter, mode="same")

    def upsample_scores(self, scores_raw: TensorList) -> torch.Tensor:
        """Sum the features' score maps and resample them on the localisation grid by Fourier interpolation.

        Each map is shifted so that the zero displacement sits at the origin (for a kernel of size ``k`` on a map
        of size ``n`` it lies ``(n - k % 2) / 2`` cells in), weighted by ``translation_weight``, summed and
        evaluated on ``output_sz`` points per period. The result is rolled so that the zero displacement is the
        middle cell and, for an even grid, the first row / column (the largest negative displacement) is dropped.

        Returns:
            ``(S, 1, h, w)`` scores with ``h``, ``w`` odd; cell ``((h - 1) / 2, (w - 1) / 2)`` is the patch centre
            and one cell spans ``img_support_sz / output_sz`` pixels at scale 1.
        """
        weights = self.fparams.attribute("translation_weight", 1.0)
        series = []
        for s, w, sz, ksz in zip(scores_raw, weights, self.feature_sz, self.kernel_size):
            sf = fourier.cfft2(s * float(w)) / (s.shape[-2] * s.shape[-1])
            series.append(fourier.shift_fs(sf, math.pi * (1 - (ksz % 2) / sz)))
        grid = fourier.sample_fs(fourier.sum_fs(series), self.output_sz.long().tolist())
        gh, gw = grid.shape[-2:]
        grid = torch.roll(grid, shifts=(gh // 2, gw // 2), dims=(-2, -1))
        return grid[..., 1 - gh % 2 :, 1 - gw % 2 :]

    def localize_target(
        self, scores_raw: TensorList, sample_pos: torch.Tensor, sample_scales: torch.Tensor
    ) -> tuple[torch.Tensor, int, torch.Tensor, str]:
        """Find the target in the classifier scores.

        Args:
            scores_raw: per-feature scores ``(S, 1, H_i, W_i)``.
            sample_pos: centre ``[y, x]`` of the search patches.
            sample_scales: their scales ``(S,)``.

        Returns:
            ``(translation (2,) [dy, dx] in image pixels from sample_pos, scale index, scores (S, 1, h, w), flag)``
            with flag one of ``'normal'``, ``'not_found'``, ``'uncertain'``, ``'hard_negative'``.
        """
        p = self.params
        scores = self.upsample_scores(scores_raw)
        window = self.output_window
        if window is not None and not p.perform_hn_without_windowing:
            scores = scores * window
        cell = self.img_support_sz / self.output_sz
        if not p.advanced_localization:
            translation, scale_ind, flag = localize_simple(scores, sample_scales, cell)
            return translation, scale_ind, scores, flag
        scores_hn = scores
        if window is not None and p.perform_hn_without_windowing:
            scores = scores * window
        translation, scale_ind, flag = localize_advanced(
            scores,
            sample_pos.reshape(1, 2).expand(scores.shape[0], 2),
            sample_scales,
            self.pos,
            self.target_sz,
            cell,
            LocalizationThresholds.from_params(p),
            hn_scores=scores_hn,
        )
        return translation, scale_ind, scores_hn, flag

    def refine_target_box(
        self, sample_pos: torch.Tensor, sample_scale: float, scale_ind: int, update_scale: bool = True
    ) -> None:
        """IoU-Net refinement: jitter the current box, climb the predicted IoU, average the top-k boxes.

        Sets ``pos_iounet`` (and ``pos`` when ``use_iounet_pos_for_learning``), ``target_sz`` and, when
        ``update_scale``, ``target_scale`` (kept within the scale bounds).
        """
        p = self.params
        init_box = self.get_iounet_box(self.pos, self.target_sz, sample_pos, sample_scale)
        iou_feat = [f[scale_ind : scale_ind + 1] for f in self.features.get_unique_attribute("iounet_features")]
        self.timer.lap("iou_features")
        # The features are fixed during refinement: their pooling tables are built once per frame.
        predict_iou = self.iou_predictor.prepare_iou_prediction(self.iou_modulation, iou_feat)

        box = refine_box(predict_iou, init_box, RefinementSettings.from_params(self.params), device=iou_feat[0].device)
        self.timer.lap("refinement")
        if box is None:
            # Deliberate deviation: the original keeps the previous frame's IoU-Net position here.
            self.pos_iounet = self.pos.clone()
            return

        self.pos_iounet, new_sz, new_scale = self.refined_state(box, sample_pos, sample_scale)
        if p.use_iounet_pos_for_learning:
            self.pos = self.pos_iounet.clone()
        self.target_sz = new_sz
        if update_scale:
            self.target_scale = new_scale

    # ----------------------------------------------------------------------------------------------------------
    # Learning

    def label_function(self, boxes: torch.Tensor, feature_ind: int) -> torch.Tensor:
        """Gaussian label maps ``(N, 1, H, W)`` (on the feature device) for target boxes ``(N, 4)`` in patch pixels.

        The peak sits at the target centre in feature cells, offset by half a cell for even kernels (where the
        ``'same'`` correlation output is centred half a cell off); ``sigma`` is fixed at initialisation.
        """
        sz = self.feature_sz[feature_ind]
        ksz = self.kernel_size[feature_ind]
        boxes = boxes.reshape(-1, 4).float().cpu()
        centre = boxes[:, [1, 0]] + (boxes[:, [3, 2]] - 1) / 2
        offset = (centre - (self.img_sample_sz - 1) / 2) / self.img_support_sz * sz + 0.5 * ((ksz + 1) % 2)
        labels = [dcf.label_function_spatial(sz, self.sigma[feature_ind], c) for c in offset]
        return torch.cat(labels).to(self.device)

    def update_memory(self, train_x: TensorList, box: torch.Tensor, learning_rate: float | None = None) -> None:
        """Store a projected sample ``(1, D_i, H_i, W_i)`` per feature with its target box and label.

        Args:
            train_x: the sample of each feature.
            box: target box ``[x, y, w, h]`` in the sample's patch.
            learning_rate: weight of the new sample; None uses each feature's ``learning_rate``.
        """
        for i, (memory, x, fp) in enumerate(zip(self.memory, train_x, self.fparams)):
            rate = fp.learning_rate if learning_rate is None else learning_rate
            slot = memory.add(x, box.cpu(), float(rate))
            self.labels[i][slot] = self.label_function(box, i)[0]

    def run_filter_optimizer(self, num_iter: int) -> None:
        """Refine the filter on the filled part of the sample memory (``num_iter`` CG iterations)."""
        if num_iter <= 0:
            return
        stored = [m.stored() for m in self.memory]
        self.conv_problem.training_samples = TensorList(s for s, _, _ in stored)
        self.conv_problem.y = TensorList(y[: s.shape[0]] for y, (s, _, _) in zip(self.labels, stored))
        self.conv_problem.sample_weights = TensorList(w for _, _, w in stored)
        with torch.enable_grad():
            self.filter_optimizer.run(num_iter)


def pca_projection(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Projection onto the ``dim`` leading principal directions of the channels of ``x``.

    Args:
        x: samples ``(N, C, H, W)``; each spatial position of each sample is one observation of ``C`` channels.
        dim: number of directions kept (``<= C``).

    Returns:
        ``(dim, C, 1, 1)``: row ``k`` is the eigenvector of the channel covariance with the ``k``-th largest
        eigenvalue (signs as returned by the SVD).
    """
    mat = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1)
    mat = mat - mat.mean(dim=1, keepdim=True)
    u, _, _ = torch.linalg.svd(mat @ mat.t())
    return u[:, :dim].t().reshape(dim, x.shape[1], 1, 1).clone()
