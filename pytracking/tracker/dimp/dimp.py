"""DiMP tracker (Bhat et al., "Learning Discriminative Model Prediction for Tracking", ICCV 2019).

Also runs PrDiMP (Danelljan et al., CVPR 2020) and SuperDiMP: they differ only in the network and parameters.
Per frame the tracker crops a search region around the previous position, scores it with the online-learned
target filter, localises the target (with distractor / not-found handling), refines the box by gradient ascent on
the IoU-Net's predicted overlap, and finally stores the frame in the sample memory and re-optimises the filter.

State conventions: ``pos = [cy, cx]`` (``cy = y + (h - 1) / 2``), ``target_sz = [h, w]``; boxes handed to the
network are ``[x, y, w, h]`` in pixels of the sampled patch. All randomness (augmentation shifts, dropout,
random IoU-Net proposals) comes from torch's global RNG, so a seeded run is reproducible.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from pytracking.features import augmentation
from pytracking.features.preprocessing import numpy_to_torch, sample_patch, sample_patch_multiscale
from pytracking.libs import dcf
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.tracker.base.box_refinement import RefinementSettings, optimize_boxes, refine_box
from pytracking.tracker.base.io_contract import NOT_FOUND_BOX, FrameInfo, InitInfo, TrackerOutput
from pytracking.tracker.base.localization import LocalizationThresholds, localize_advanced, localize_simple
from pytracking.tracker.base.target_state import TargetStateMixin
from pytracking.tracker.dimp.memory import SampleMemory
from pytracking.utils.params import TrackerParams

__all__ = ["DiMP"]


class DiMP(TargetStateMixin, BaseTracker):
    """DiMP / PrDiMP / SuperDiMP tracker. ``params.net`` is a lazily loaded ``NetWithBackbone`` of a DiMPnet."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        # Network and device
        "net": None,  # NetWithBackbone wrapping the DiMPnet checkpoint (set by every parameter file)
        "use_gpu": torch.cuda.is_available(),
        # Search region
        "image_sample_size": 18 * 16,  # int (square) or (H, W) of the network input in pixels
        "search_area_scale": 5.0,  # search region side / target side (geometric mean)
        "use_image_aspect_ratio": False,  # give the search region the image's aspect ratio
        "feature_stride": 16,  # backbone stride of the classification features
        "feature_size_odd": False,  # kept for parameter-file compatibility (DiMP's sizes follow the network)
        "border_mode": "replicate",  # 'replicate' | 'inside' | 'inside_major'
        "patch_max_scale_change": None,  # bound on the shrink of 'inside*' crops
        "scale_factors": None,  # multi-scale search factors (None: a single scale)
        "target_inside_ratio": 0.2,  # part of the target that must stay inside the image
        # Sample memory and online learning
        "sample_memory_size": 50,
        "learning_rate": 0.01,
        "init_samples_minimum_weight": 0.25,
        "train_skipping": 20,  # run the optimizer every this many frames
        "update_classifier": True,
        "net_opt_iter": 10,  # optimizer iterations on the first frame
        "net_opt_update_iter": 2,  # ... on regular updates
        "net_opt_hn_iter": 1,  # ... after a hard negative
        "net_opt_low_iter": 1,  # ... when the peak score is below low_score_opt_threshold
        "low_score_opt_threshold": None,
        "train_sample_interval": 1,  # store a sample every this many frames
        # Scores
        "window_output": False,  # multiply the scores with a Hann window
        "use_clipped_window": False,
        "effective_search_area": None,  # window extent (in search-area-scale units) for the clipped window
        "score_preprocess": "none",  # 'none' | 'exp' | 'softmax'
        "softmax_reg": None,  # implicit extra softmax logit (PrDiMP)
        "score_filter_ksz": 1,  # box filter on the scores before localisation
        # Initial augmentation
        "use_augmentation": True,
        "augmentation": {},
        "augmentation_expansion_factor": 2.0,
        "random_shift_factor": 1 / 3,
        # Localisation
        "advanced_localization": True,
        **LocalizationThresholds.param_defaults(),  # target_not_found_threshold, distractor_threshold ...
        "hard_negative_learning_rate": 0.02,
        "update_scale_when_uncertain": True,
        "perform_hn_without_windowing": False,
        "output_not_found_box": False,
        # IoU-Net refinement
        "use_iou_net": True,
        "use_classifier": True,
        "use_iounet_pos_for_learning": True,
        "iounet_augmentation": False,  # average the modulation over the augmented samples too
        **RefinementSettings.param_defaults(),  # iounet_k, num_init_random_boxes, box_refinement_iter ...
        # Evaluation
        "vot_anno_conversion_type": "preserve_area",
    }

    def __init__(self, params: TrackerParams | None = None):
        super().__init__(params)
        self.net: Any = None

    # ----------------------------------------------------------------------------------------------------------
    # Initialisation

    def initialize(self, image: np.ndarray, info: InitInfo) -> TrackerOutput:
        """Learn the target model on the first frame (see the module docstring)."""
        start = time.perf_counter()
        p = self.params
        if p.net is None:
            raise ValueError("DiMP needs params.net (a NetWithBackbone); set it in the parameter file")
        self.net = p.net
        self.net.initialize()
        self.frame_num = 1

        state = [float(v) for v in info["init_bbox"]]
        self.pos = torch.tensor([state[1] + (state[3] - 1) / 2, state[0] + (state[2] - 1) / 2])
        self.target_sz = torch.tensor([state[3], state[2]])
        if (self.target_sz <= 0).any():
            raise ValueError(f"init_bbox needs a positive width and height, got {info['init_bbox']}")

        im = numpy_to_torch(image)
        self.image_sz = torch.tensor([float(im.shape[2]), float(im.shape[3])])

        sz = p.image_sample_size
        self.img_sample_sz = torch.tensor([float(sz), float(sz)] if isinstance(sz, int | float) else list(sz)).float()
        if p.use_image_aspect_ratio:
            area = self.img_sample_sz.prod()
            stride = p.feature_stride
            self.img_sample_sz = torch.round(self.image_sz * (area / self.image_sz.prod()).sqrt() / stride) * stride
        self.img_support_sz = self.img_sample_sz

        search_area = torch.prod(self.target_sz * p.search_area_scale)
        self.target_scale = math.sqrt(float(search_area)) / math.sqrt(float(self.img_sample_sz.prod()))
        self.base_target_sz = self.target_sz / self.target_scale
        self.min_scale_factor = float(torch.max(10 / self.base_target_sz))
        self.max_scale_factor = float(torch.min(self.image_sz / self.base_target_sz))
        self.scale_factors = torch.ones(1) if p.scale_factors is None else torch.as_tensor(p.scale_factors).float()

        with torch.no_grad():
            init_backbone_feat = self.generate_init_samples(im)
            self.init_classifier(init_backbone_feat)
            if p.use_iou_net:
                self.init_iou_net(init_backbone_feat)

        if self.visdom is not None:
            # The un-augmented initial sample with the target box (cropped again: one patch, debug views only).
            init_patch, _ = sample_patch(
                im, self.init_sample_pos, self.init_sample_scale * self.img_sample_sz, self.img_sample_sz
            )
            init_box = self.get_iounet_box(self.pos, self.target_sz, self.init_sample_pos, self.init_sample_scale)
            self.visdom.register((init_patch, init_box.tolist()), "Tracking", 3, "Init patch")

        return {"time": time.perf_counter() - start}

    def generate_init_samples(self, im: torch.Tensor) -> dict[str, torch.Tensor]:
        """Crop the first frame around the target, augment it, and return the backbone features of all versions.

        Sets ``transforms``, ``init_sample_pos`` and ``init_sample_scale``.
        """
        p = self.params
        aug = p.augmentation if p.use_augmentation else {}
        factor = p.augmentation_expansion_factor if p.use_augmentation else None
        expansion_sz = augmentation.expanded_sample_size(self.img_sample_sz, factor)
        out_sz = self.img_sample_sz.long().tolist()
        self.transforms = augmentation.init_transforms(aug, self.img_sample_sz, out_sz, p.random_shift_factor)

        pos = self.pos.round()
        if p.border_mode == "inside":
            # Keep the whole crop inside the image; the patch centre and scale then follow from where it landed.
            patch, coord = sample_patch(
                im,
                pos,
                self.target_scale * expansion_sz,
                expansion_sz,
                mode="inside",
                max_scale_change=p.patch_max_scale_change,
            )
            tl, br = coord[0, :2].float(), coord[0, 2:].float()
            self.init_sample_pos = (tl + br - 1) / 2
            self.init_sample_scale = float(((br - tl) / expansion_sz).prod().sqrt())
        else:
            patch, _ = sample_patch(im, pos, self.target_scale * expansion_sz, expansion_sz)
            self.init_sample_pos = pos
            self.init_sample_scale = self.target_scale
        patches = torch.cat([t(patch) for t in self.transforms])
        return self.net.extract_backbone(patches)

    def init_classifier(self, init_backbone_feat: dict[str, torch.Tensor]) -> None:
        """Classification features of the initial samples, the first filter and the sample memory."""
        p = self.params
        x = self.net.extract_classification_feat(init_backbone_feat)

        aug = p.augmentation if p.use_augmentation else {}
        if "dropout" in aug:
            num, prob = aug["dropout"]
            self.transforms.extend(self.transforms[:1] * num)
            x = torch.cat([x, F.dropout2d(x[:1].expand(num, -1, -1, -1), p=prob, training=True)])

        self.feature_sz = torch.tensor(x.shape[-2:], dtype=torch.float32)
        ksz = self.net.classifier.filter_size
        self.kernel_size = torch.tensor([ksz, ksz] if isinstance(ksz, int) else list(ksz), dtype=torch.float32)
        self.output_sz = self.feature_sz + (self.kernel_size + 1) % 2

        self.output_window = None
        if p.window_output:
            if p.use_clipped_window:
                eff = (self.output_sz * p.effective_search_area / p.search_area_scale).long()
                self.output_window = dcf.hann2d_clipped(self.output_sz.long(), eff, centered=True)
            else:
                self.output_window = dcf.hann2d(self.output_sz.long(), centered=True)
            self.output_window = self.output_window.squeeze(0).to(x.device)

        box = self.get_iounet_box(self.pos, self.target_sz, self.init_sample_pos, self.init_sample_scale)
        boxes = []
        for t in self.transforms:
            shift = torch.tensor([t.shift[1], t.shift[0]], dtype=torch.float32)
            boxes.append(torch.cat([box[:2] + shift, box[2:]]))
        target_boxes = torch.stack(boxes).to(x.device)

        self.target_filter, _, _ = self.net.classifier.get_filter(
            x.unsqueeze(1), target_boxes.unsqueeze(1), num_iter=p.net_opt_iter, compute_losses=False
        )
        self.memory = None
        if p.update_classifier:
            capacity = max(int(p.sample_memory_size), x.shape[0])
            self.memory = SampleMemory(x, target_boxes, capacity, p.init_samples_minimum_weight)

    def init_iou_net(self, init_backbone_feat: dict[str, torch.Tensor]) -> None:
        """Target modulation vectors of the IoU predictor from the first frame (averaged over the used samples)."""
        p = self.params
        box = self.get_iounet_box(self.pos, self.target_sz, self.init_sample_pos, self.init_sample_scale)
        num = 1
        boxes = [box]
        if p.iounet_augmentation:
            # Only geometry-preserving transforms (identity, translations) keep the box exact.
            boxes = []
            for t in self.transforms:
                if type(t) not in (augmentation.Identity, augmentation.Translation):
                    break
                boxes.append(torch.cat([box[:2] + torch.tensor([t.shift[1], t.shift[0]]), box[2:]]))
            num = len(boxes)
        feats = [f[:num] for f in self.net.get_backbone_bbreg_feat(init_backbone_feat)]
        target_boxes = torch.stack(boxes).to(feats[0].device)
        modulation = self.net.bb_regressor.get_modulation(feats, target_boxes)
        self.iou_modulation = [m.mean(0, keepdim=True).detach() for m in modulation]

    # ----------------------------------------------------------------------------------------------------------
    # Tracking

    def track(self, image: np.ndarray, info: FrameInfo | None = None) -> TrackerOutput:
        """Locate the target in the next frame and update the model (see the module docstring)."""
        p = self.params
        self.frame_num += 1
        self.debug_proposals = None  # set by refine_target_box while a debug view is attached
        timer = self.timer
        timer.start()
        im = numpy_to_torch(image)

        with torch.no_grad():
            centre = self.get_centered_sample_pos()
            scales = self.target_scale * self.scale_factors
            patches, coords = sample_patch_multiscale(
                im, centre, scales, self.img_sample_sz, mode=p.border_mode, max_scale_change=p.patch_max_scale_change
            )
            sample_pos, sample_scales = self.get_sample_location(coords)
            timer.lap("sample")
            backbone_feat = self.net.extract_backbone(patches)
            test_x = self.net.extract_classification_feat(backbone_feat)
            timer.lap("features")

            scores_raw = self.net.classifier.classify(self.target_filter, test_x.unsqueeze(1))
            translation_vec, scale_ind, scores, flag = self.localize_target(scores_raw, sample_pos, sample_scales)
            new_pos = sample_pos[scale_ind] + translation_vec
            timer.lap("localization")

        if flag != "not_found":
            if p.use_iou_net:
                update_scale = p.update_scale_when_uncertain or flag != "uncertain"
                if p.use_classifier:
                    self.update_state(new_pos)
                self.refine_target_box(
                    backbone_feat, sample_pos[scale_ind], float(sample_scales[scale_ind]), scale_ind, update_scale
                )
            elif p.use_classifier:
                self.update_state(new_pos, float(sample_scales[scale_ind]))

        with torch.no_grad():
            update_flag = flag not in ("not_found", "uncertain")
            hard_negative = flag == "hard_negative"
            lr = p.hard_negative_learning_rate if hard_negative else p.learning_rate
            if p.update_classifier and update_flag and self.frame_num % p.train_sample_interval == 0:
                train_x = test_x[scale_ind : scale_ind + 1]
                box = self.get_iounet_box(
                    self.pos, self.target_sz, sample_pos[scale_ind], float(sample_scales[scale_ind])
                )
                self.update_classifier(
                    train_x, box.to(train_x.device), lr, hard_negative, float(scores[scale_ind].max())
                )
        timer.lap("update")

        max_score = float(scores[scale_ind].max())
        self.debug_info = {"frame_num": self.frame_num, "flag": flag, "max_score": max_score}
        if self.visdom is not None:
            self.visdom.register(scores[scale_ind, 0], "heatmap", 2, "Score Map")
            self.visdom.register(self.debug_info, "info_dict", 1, "Status")
            if self.debug_proposals is not None:
                self.visdom.register((patches[scale_ind], *self.debug_proposals), "bbreg", 3, "IoU-Net proposals")
        if p.output_not_found_box and flag == "not_found":
            bbox = list(NOT_FOUND_BOX)
        else:
            bbox = self.current_box()
        self.visdom_draw_tracking(image, bbox)
        return {"target_bbox": bbox}

    def get_sample_location(self, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres ``(S, 2)`` ``[y, x]`` and scales ``(S,)`` of the patches actually sampled (``coords (S, 4)``)."""
        coords = coords.float()
        pos = 0.5 * (coords[:, :2] + coords[:, 2:] - 1)
        scales = ((coords[:, 2:] - coords[:, :2]) / self.img_sample_sz).prod(dim=1).sqrt()
        return pos, scales

    def get_centered_sample_pos(self) -> torch.Tensor:
        """Search-region centre: ``pos`` moved by half a feature cell when the score map has an even size, so
        that the score map's centre cell is the target position."""
        odd = (self.feature_sz + self.kernel_size) % 2
        return self.pos + odd * self.target_scale * self.img_support_sz / (2 * self.feature_sz)

    def preprocess_scores(self, scores: torch.Tensor) -> torch.Tensor:
        """Optional score transform (``score_preprocess``) and box filtering (``score_filter_ksz``)."""
        p = self.params
        if p.score_preprocess == "exp":
            scores = scores.exp()
        elif p.score_preprocess == "softmax":
            shape = scores.shape
            flat = scores.reshape(shape[0], -1)
            if p.softmax_reg is not None:
                # The regulariser acts as one extra logit absorbing probability mass ("target absent").
                reg = flat.new_full((shape[0], 1), float(p.softmax_reg))
                flat = torch.softmax(torch.cat([flat, reg], dim=1), dim=1)[:, :-1]
            else:
                flat = torch.softmax(flat, dim=1)
            scores = flat.reshape(shape)
        elif p.score_preprocess != "none":
            raise ValueError(f"unknown score_preprocess {p.score_preprocess!r}")
        ksz = int(p.score_filter_ksz)
        if ksz > 1:
            h, w = scores.shape[-2:]
            kernel = scores.new_ones(1, 1, ksz, ksz) / ksz**2
            # An even kernel grows the map by one cell; cropping keeps the cell grid aligned with the scores.
            scores = F.conv2d(scores.reshape(-1, 1, h, w), kernel, padding=ksz // 2)[..., :h, :w]
        return scores

    def localize_target(
        self, scores_raw: torch.Tensor, sample_pos: torch.Tensor, sample_scales: torch.Tensor
    ) -> tuple[torch.Tensor, int, torch.Tensor, str]:
        """Find the target in the score maps.

        Args:
            scores_raw: classifier output ``(S, 1, H, W)`` (one map per search scale).
            sample_pos: patch centres ``(S, 2)``.
            sample_scales: patch scales ``(S,)``.

        Returns:
            ``(translation (2,) [dy, dx] in image pixels, scale index, scores (S, 1, H, W), flag)`` with flag one of
            ``'normal'``, ``'not_found'``, ``'uncertain'``, ``'hard_negative'``.
        """
        p = self.params
        scores = self.preprocess_scores(scores_raw)
        if self.output_window is not None and not p.perform_hn_without_windowing:
            scores = scores * self.output_window
        if p.advanced_localization:
            return self.localize_advanced(scores, sample_pos, sample_scales)
        translation, scale_ind, flag = localize_simple(scores, sample_scales, self.img_support_sz / self.feature_sz)
        return translation, scale_ind, scores, flag

    def localize_advanced(
        self, scores: torch.Tensor, sample_pos: torch.Tensor, sample_scales: torch.Tensor
    ) -> tuple[torch.Tensor, int, torch.Tensor, str]:
        """Peak localisation with distractor handling (arguments and returns as :meth:`localize_target`)."""
        scores_hn = scores
        if self.output_window is not None and self.params.perform_hn_without_windowing:
            scores = scores * self.output_window
        translation, scale_ind, flag = localize_advanced(
            scores,
            sample_pos,
            sample_scales,
            self.pos,
            self.target_sz,
            self.img_support_sz / self.feature_sz,
            LocalizationThresholds.from_params(self.params),
            hn_scores=scores_hn,
        )
        return translation, scale_ind, scores_hn, flag

    def refine_target_box(
        self,
        backbone_feat: dict[str, torch.Tensor],
        sample_pos: torch.Tensor,
        sample_scale: float,
        scale_ind: int,
        update_scale: bool = True,
    ) -> None:
        """IoU-Net refinement: jitter the current box, climb the predicted IoU, average the top-k boxes."""
        p = self.params
        init_box = self.get_iounet_box(self.pos, self.target_sz, sample_pos, sample_scale)
        with torch.no_grad():
            # Only the chosen scale's IoU features are needed: slice before the IoU-Net's convolutions.
            iou_backbone = [f[scale_ind : scale_ind + 1] for f in self.net.get_backbone_bbreg_feat(backbone_feat)]
            iou_feat = self.net.bb_regressor.get_iou_feat(iou_backbone)
        self.timer.lap("iou_features")

        predict_iou = self._iou_function(iou_feat)
        if self.visdom is not None:
            scored = predict_iou

            def predict_iou(boxes: torch.Tensor) -> torch.Tensor:
                # Keeps the last proposals scored (boxes (N, 4) in patch pixels, IoUs (N,)) for the 'bbreg' block.
                ious = scored(boxes)
                self.debug_proposals = (boxes.detach().reshape(-1, 4).cpu(), ious.detach().reshape(-1).cpu())
                return ious

        box = refine_box(predict_iou, init_box, RefinementSettings.from_params(p), device=iou_feat[0].device)
        self.timer.lap("refinement")
        if box is None:
            return

        new_pos, new_sz, new_scale = self.refined_state(box, sample_pos, sample_scale)
        if p.use_iounet_pos_for_learning:
            self.pos = new_pos
        self.target_sz = new_sz
        if update_scale:
            self.target_scale = new_scale

    def _iou_function(self, iou_feat: list[torch.Tensor]):
        """The IoU predictor on this frame's features, as a function of boxes (1, N, 4).

        The features are fixed during refinement, so their pooling tables are built once per frame when the IoU
        head offers it (``prepare_iou_prediction``); the values are those of ``predict_iou``.
        """
        bb_regressor = self.net.bb_regressor
        if hasattr(bb_regressor, "prepare_iou_prediction"):
            return bb_regressor.prepare_iou_prediction(self.iou_modulation, iou_feat)
        return lambda boxes: bb_regressor.predict_iou(self.iou_modulation, iou_feat, boxes)

    def optimize_boxes(self, iou_feat: list[torch.Tensor], boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient ascent on the predicted IoU of ``boxes (N, 4)``; returns the boxes and their last IoUs."""
        s = RefinementSettings.from_params(self.params)
        return optimize_boxes(self._iou_function(iou_feat), boxes, s.num_iter, s.step_length, s.step_decay, s.space)

    def update_classifier(
        self, train_x: torch.Tensor, box: torch.Tensor, learning_rate: float, hard_negative: bool, max_score: float
    ) -> None:
        """Store the sample and, on schedule (or after a hard negative), re-optimise the target filter."""
        p = self.params
        self.memory.add(train_x, box, learning_rate)

        num_iter = 0
        low = p.low_score_opt_threshold
        if hard_negative:
            num_iter = p.net_opt_hn_iter
        elif low is not None and max_score < low:
            num_iter = p.net_opt_low_iter
        elif (self.frame_num - 1) % p.train_skipping == 0:
            num_iter = p.net_opt_update_iter
        if num_iter <= 0:
            return
        samples, boxes, weights = self.memory.stored()
        self.target_filter, _, _ = self.net.classifier.filter_optimizer(
            self.target_filter,
            samples.unsqueeze(1),
            boxes.unsqueeze(1),
            sample_weight=weights.reshape(-1, 1),
            num_iter=num_iter,
            compute_losses=False,
        )
