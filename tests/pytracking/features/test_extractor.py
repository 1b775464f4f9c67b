"""Feature base classes, the multi-resolution extractor and the ATOM ResNet-18 feature (random official-layout
checkpoint)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ltr.admin.checkpoint import save_network
from ltr.models.bbreg.atom import atom_resnet18
from pytracking.features import augmentation
from pytracking.features.deep import ATOMResNet18
from pytracking.features.extractor import MultiResolutionExtractor
from pytracking.features.featurebase import FeatureBase, MultiFeatureBase, normalize_feature
from pytracking.features.preprocessing import sample_patch, sample_patch_multiscale
from pytracking.libs.tensorlist import TensorList
from pytracking.utils.params import FeatureParams, TrackerParams


class MeanColour(FeatureBase):
    """Toy feature: the mean over channels, average-pooled by 4 (one channel, stride 4 x pool_stride)."""

    def dim(self) -> int:
        return 1

    def stride(self) -> int:
        return 4 * self.pool_stride

    def extract(self, im: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(im.mean(dim=1, keepdim=True), 4)


class TwoScales(MultiFeatureBase):
    """Toy two-output feature: the RGB image pooled by 2 and by 8."""

    def dim(self) -> TensorList:
        return TensorList([3, 3])

    def stride(self) -> TensorList:
        return TensorList(s * b for s, b in zip(self.pool_strides(), (2, 8)))

    def extract(self, im: torch.Tensor) -> TensorList:
        return TensorList([F.avg_pool2d(im, 2), F.avg_pool2d(im, 8)])


def image(h: int = 64, w: int = 80) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(1, 3, h, w, dtype=torch.float64) * 255


def test_normalize_feature_gives_unit_power_mean_per_sample():
    feat = torch.tensor([[[[3.0, -4.0]]], [[[0.0, 2.0]]]], dtype=torch.float64)  # (2, 1, 1, 2)
    out = normalize_feature(feat, 2)
    # RMS of sample 0 is sqrt((9 + 16) / 2), of sample 1 sqrt(2).
    torch.testing.assert_close(out[0].flatten(), torch.tensor([3.0, -4.0], dtype=torch.float64) / math.sqrt(12.5))
    torch.testing.assert_close(out[1].flatten(), torch.tensor([0.0, 2.0], dtype=torch.float64) / math.sqrt(2.0))
    out1 = normalize_feature(feat, 1)
    torch.testing.assert_close(out1.abs().mean(dim=(1, 2, 3)), torch.ones(2, dtype=torch.float64))
    assert torch.isfinite(normalize_feature(torch.zeros(1, 2, 2, 2), 2)).all()


def test_single_feature_pooling_output_size_and_sizes():
    im = image()
    plain = MeanColour()
    assert plain.stride() == 4 and plain.size(torch.tensor([64.0, 80.0])).tolist() == [16, 20]
    torch.testing.assert_close(plain.get_feature(im), F.avg_pool2d(im.mean(1, keepdim=True), 4))

    pooled = MeanColour(pool_stride=2, normalize_power=2)
    assert pooled.stride() == 8 and pooled.size(torch.tensor([64.0, 80.0])).tolist() == [8, 10]
    feat = pooled.get_feature(im)
    assert feat.shape == (1, 1, 8, 10)
    torch.testing.assert_close(feat.pow(2).mean(), torch.tensor(1.0, dtype=torch.float64))

    fixed = MeanColour(output_size=(3, 5))
    assert fixed.size(torch.tensor([64.0, 80.0])).tolist() == [3, 5]
    assert fixed.get_feature(im).shape == (1, 1, 3, 5)


def test_extractor_sizes_strides_dims_and_fparams():
    deep = TrackerParams()
    deep.learning_rate = 0.5
    coarse, fine = TrackerParams(), TrackerParams()
    coarse.learning_rate, fine.learning_rate = 0.1, 0.2
    toy = MeanColour(fparams=FeatureParams(feature_params=[deep]), use_for_gray=False)
    multi = TwoScales(fparams=FeatureParams(feature_params=[coarse, fine]), pool_stride=[1, 2])
    ext = MultiResolutionExtractor([toy, multi])

    assert ext.stride().tolist() == [4.0, 2.0, 16.0]
    assert [s.tolist() for s in ext.size(torch.tensor([64.0, 96.0]))] == [[16, 24], [32, 48], [4, 6]]
    assert list(ext.dim()) == [1, 3, 3]
    params = ext.get_fparams("feature_params")
    assert isinstance(params, TensorList) and list(params.attribute("learning_rate")) == [0.5, 0.1, 0.2]
    assert len(ext.get_fparams()) == 2

    # Grey sequences drop the colour-only feature.
    ext.set_is_color(False)
    assert ext.stride().tolist() == [2.0, 16.0] and list(ext.dim()) == [3, 3]
    ext.set_is_color(True)
    assert ext.stride().tolist() == [4.0, 2.0, 16.0]


def test_extractor_attributes():
    a, b = MeanColour(), MeanColour()
    b.special = "b"
    ext = MultiResolutionExtractor([a, b])
    assert ext.get_unique_attribute("special") == "b"
    assert list(ext.get_attribute("special")) == [None, "b"]
    assert list(ext.get_attribute("special", ignore_missing=True)) == ["b"]
    a.special = "a"
    with pytest.raises(RuntimeError, match="2 features"):
        ext.get_unique_attribute("special")
    with pytest.raises(RuntimeError, match="0 features"):
        ext.get_unique_attribute("missing")


def test_extract_samples_each_scale_and_returns_coords():
    im = image(60, 90)
    ext = MultiResolutionExtractor([MeanColour(), TwoScales()])
    pos, scales, sz = torch.tensor([30.0, 41.0]), torch.tensor([1.0, 1.5]), torch.tensor([32.0, 48.0])
    feats, coords, patches = ext.extract(im, pos, scales, sz, return_patches=True)
    ref_patches, ref_coords = sample_patch_multiscale(im, pos, scales, sz)
    torch.testing.assert_close(patches, ref_patches)
    assert torch.equal(coords, ref_coords)
    assert [tuple(f.shape) for f in feats] == [(2, 1, 8, 12), (2, 3, 16, 24), (2, 3, 4, 6)]
    torch.testing.assert_close(feats[1], F.avg_pool2d(ref_patches, 2))
    feats2, coords2 = ext.extract(im, pos, 1.0, sz)
    torch.testing.assert_close(feats2[0], feats[0][:1])
    assert torch.equal(coords2, ref_coords[:1])


def test_extract_transformed_applies_each_transform_to_one_patch():
    im = image(60, 90)
    ext = MultiResolutionExtractor([MeanColour()])
    pos, sz = torch.tensor([30.0, 41.0]), torch.tensor([48.0, 48.0])
    transforms = [augmentation.Identity((32, 32)), augmentation.FlipHorizontal((32, 32), (4, -4))]
    (feat,) = ext.extract_transformed(im, pos, 1.25, sz, transforms)
    patch, _ = sample_patch(im, pos, 1.25 * sz, sz)
    expected = torch.cat([MeanColour().get_feature(t(patch)) for t in transforms])
    torch.testing.assert_close(feat, expected)
    assert feat.shape == (2, 1, 8, 8)


# ----------------------------------------------------------------------------------------------- ATOMResNet18


@pytest.fixture(scope="module")
def atom_dir(tmp_path_factory):
    """A random ATOM-18 checkpoint (small IoU-Net: only the layouts matter here)."""
    torch.manual_seed(0)
    net = atom_resnet18(iou_input_dim=(16, 16), iou_inter_dim=(16, 16), backbone_pretrained=False)
    directory = tmp_path_factory.mktemp("atom_nets")
    save_network(directory / "atom_default.pth", net, epoch=1, actor_type="AtomActor")
    return directory


def test_atom_resnet18_feature(atom_dir, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(atom_dir))
    feat = ATOMResNet18(net_path="atom_default.pth", use_gpu=False, output_layers=["layer3"], normalize_power=2)
    assert feat.net is None  # nothing is loaded before initialize()
    ext = MultiResolutionExtractor([feat])
    ext.initialize()
    assert ext.stride().tolist() == [16.0] and list(ext.dim()) == [256]
    assert [s.tolist() for s in ext.size(torch.tensor([128.0, 128.0]))] == [[8, 8]]
    with pytest.raises(RuntimeError):
        ext.get_unique_attribute("iounet_features")  # nothing extracted yet

    torch.manual_seed(1)
    im = torch.rand(1, 3, 100, 120) * 255
    (x,), coords = ext.extract(im, torch.tensor([50.0, 60.0]), torch.tensor([1.0, 0.5]), torch.tensor([128.0, 128.0]))
    assert x.shape == (2, 256, 8, 8) and coords.shape == (2, 4)
    torch.testing.assert_close(x.pow(2).mean(dim=(1, 2, 3)), torch.ones(2))

    # Same as running the network by hand on ImageNet-normalised [0, 1] RGB patches.
    patches, _ = sample_patch_multiscale(im, torch.tensor([50.0, 60.0]), [1.0, 0.5], torch.tensor([128.0, 128.0]))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = feat.net.extract_features((patches / 255 - mean) / std, ["layer2", "layer3"])
    torch.testing.assert_close(x, normalize_feature(ref["layer3"], 2))

    layer2, layer3 = ext.get_unique_attribute("iounet_backbone_features")
    torch.testing.assert_close(layer2, ref["layer2"])
    torch.testing.assert_close(layer3, ref["layer3"])
    assert layer2.shape == (2, 128, 16, 16)
    iou3, iou4 = ext.get_unique_attribute("iounet_features")
    assert iou3.shape == (2, 16, 16, 16) and iou4.shape == (2, 16, 8, 8)
    assert ext.get_unique_attribute("iou_predictor") is feat.net.bb_regressor
