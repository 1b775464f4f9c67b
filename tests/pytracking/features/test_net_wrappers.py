"""NetWrapper / NetWithBackbone: lazy loading of a real ATOM checkpoint, forwarding, preprocessing, errors."""

import copy
import pickle

import pytest
import torch

import pytracking.utils.loading as pt_loading
from ltr.admin.checkpoint import save_network
from ltr.admin.loading import CheckpointNotFoundError
from ltr.models.bbreg.atom import atom_resnet18
from pytracking.features.net_wrappers import IMAGENET_MEAN, IMAGENET_STD, NetWithBackbone, NetWrapper

NAME = "atom_default.pth"


@pytest.fixture(scope="module")
def atom_file(tmp_path_factory):
    """A real ATOM-18 checkpoint (small IoU-Net) in the official layout, and the network it was saved from."""
    torch.manual_seed(0)
    net = atom_resnet18(iou_input_dim=(16, 16), iou_inter_dim=(16, 16), backbone_pretrained=False)
    net.eval()
    directory = tmp_path_factory.mktemp("nets")
    save_network(directory / NAME, net, epoch=1, actor_type="AtomActor")
    return directory, net


@pytest.fixture
def net_dir(atom_file, monkeypatch):
    directory, net = atom_file
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(directory))
    return directory, net


@pytest.fixture
def load_calls(monkeypatch):
    """Record the calls of pytracking.utils.loading.load_network (the real function still runs)."""
    calls = []
    real = pt_loading.load_network

    def spy(net_path, trust=False, **kwargs):
        calls.append((net_path, trust, kwargs))
        return real(net_path, trust=trust, **kwargs)

    monkeypatch.setattr(pt_loading, "load_network", spy)
    return calls


def test_nothing_is_loaded_before_initialize(net_dir, load_calls):
    wrapper = NetWithBackbone(NAME, use_gpu=False)
    assert load_calls == [] and wrapper.net is None and not wrapper.is_loaded
    wrapper.initialize()
    wrapper.initialize()
    assert load_calls == [(NAME, False, {})]
    assert wrapper.is_loaded


def test_loaded_network_has_the_saved_weights_in_eval_mode_on_cpu(net_dir, monkeypatch):
    _, original = net_dir
    # use_gpu=True must fall back to the CPU on a machine without CUDA.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    wrapper = NetWithBackbone(NAME, use_gpu=True, initialize=True)
    assert wrapper.device == torch.device("cpu")
    assert not wrapper.net.training
    assert all(p.device.type == "cpu" for p in wrapper.net.parameters())
    for (k, v), (k0, v0) in zip(wrapper.net.state_dict().items(), original.state_dict().items(), strict=True):
        assert k == k0 and torch.equal(v, v0)


def test_attribute_access_is_forwarded_and_loads_lazily(net_dir, load_calls):
    wrapper = NetWrapper(NAME, use_gpu=False)
    assert wrapper.bb_regressor_layer == ["layer2", "layer3"]  # first access loads the network
    assert len(load_calls) == 1
    assert wrapper.feature_extractor is wrapper.net.feature_extractor
    with pytest.raises(AttributeError, match="no_such_layer"):
        _ = wrapper.no_such_layer
    assert len(load_calls) == 1


def test_constructor_overrides_and_trust_reach_the_loader(net_dir, load_calls):
    NetWrapper(NAME, use_gpu=False, trust=True, iou_input_dim=(16, 16), initialize=True)
    assert load_calls == [(NAME, True, {"iou_input_dim": (16, 16)})]


def test_missing_network_gives_one_message_with_file_dirs_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path / "empty"))
    wrapper = NetWithBackbone("dimp50.pth", use_gpu=False)  # constructing never touches the file
    for access in (wrapper.initialize, lambda: wrapper.classifier):
        with pytest.raises(CheckpointNotFoundError) as info:
            access()
        message = str(info.value)
        assert "dimp50.pth" in message
        assert str(tmp_path / "empty") in message
        assert "python -m pytracking.download_networks dimp50.pth" in message
    assert wrapper.net is None


def test_copy_deepcopy_and_pickle_before_and_after_loading(net_dir):
    wrapper = NetWithBackbone(NAME, use_gpu=False, image_format="bgr")
    for clone in (copy.copy(wrapper), copy.deepcopy(wrapper), pickle.loads(pickle.dumps(wrapper))):
        assert clone.net is None and clone.image_format == "bgr" and clone.net_path == NAME

    wrapper.initialize()
    shallow, deep = copy.copy(wrapper), copy.deepcopy(wrapper)
    assert shallow.net is wrapper.net
    assert deep.net is not wrapper.net
    assert torch.equal(deep.net.bb_regressor.iou_predictor.weight, wrapper.net.bb_regressor.iou_predictor.weight)
    # Pickling drops the weights; the copy reloads them from the file on first use.
    unpickled = pickle.loads(pickle.dumps(wrapper))
    assert unpickled.net is None
    assert torch.equal(unpickled.bb_regressor.iou_predictor.weight, wrapper.net.bb_regressor.iou_predictor.weight)


# One pixel row of two pixels, channels R, G, B.
IMAGE = torch.tensor([[[[51.0, 102.0]], [[0.0, 255.0]], [[127.5, 25.5]]]], dtype=torch.float64)


@pytest.mark.parametrize(
    "image_format, mean, std, expected",
    [
        # R: (51/255 - .1)/.5 = .2, (102/255 - .1)/.5 = .6; G: (0 - .2)/.25, (1 - .2)/.25; B: (.5 - .3)/2, (.1 - .3)/2
        ("rgb", (0.1, 0.2, 0.3), (0.5, 0.25, 2.0), [[0.2, 0.6], [-0.8, 3.2], [0.1, -0.1]]),
        # channels become B, G, R before normalising with the (B, G, R-ordered) mean and std
        ("bgr", (0.1, 0.2, 0.3), (0.5, 0.25, 2.0), [[0.8, 0.0], [-0.8, 3.2], [-0.05, 0.05]]),
        # no division by 255: (51 - 10)/2, (102 - 10)/2; (0 - 20)/5, (255 - 20)/5; (127.5 - 30)/10, (25.5 - 30)/10
        ("rgb255", (10.0, 20.0, 30.0), (2.0, 5.0, 10.0), [[20.5, 46.0], [-4.0, 47.0], [9.75, -0.45]]),
        ("bgr255", (10.0, 20.0, 30.0), (2.0, 5.0, 10.0), [[58.75, 7.75], [-4.0, 47.0], [2.1, 7.2]]),
    ],
)
def test_preprocess_image_formats(image_format, mean, std, expected):
    wrapper = NetWithBackbone("unused.pth", use_gpu=False, image_format=image_format, mean=mean, std=std)
    before = IMAGE.clone()
    out = wrapper.preprocess_image(IMAGE)
    assert out.shape == (1, 3, 1, 2) and out.dtype == torch.float64 and out.device.type == "cpu"
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64).view(1, 3, 1, 2), rtol=0, atol=1e-12)
    assert torch.equal(IMAGE, before)
    assert wrapper.net is None  # preprocessing does not need the network


def test_preprocess_defaults_are_imagenet_and_integer_input_becomes_float32():
    wrapper = NetWithBackbone("unused.pth", use_gpu=False)
    assert wrapper.image_format == "rgb"
    im = torch.full((2, 3, 4, 5), 255, dtype=torch.uint8)
    out = wrapper.preprocess_image(im)
    assert out.dtype == torch.float32 and out.shape == (2, 3, 4, 5)
    for c in range(3):
        expected = (1.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        torch.testing.assert_close(out[:, c], torch.full((2, 4, 5), expected), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_format": "hsv"}, "image_format"),
        ({"mean": (0.5, 0.5)}, "3 values"),
        ({"std": (1.0, 0.0, 1.0)}, "non-zero"),
    ],
)
def test_invalid_preprocessing_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NetWithBackbone("unused.pth", use_gpu=False, **kwargs)


def test_preprocess_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        NetWithBackbone("unused.pth", use_gpu=False).preprocess_image(torch.zeros(3, 8, 8))


def test_extract_backbone_is_preprocessing_then_backbone(net_dir):
    _, original = net_dir
    torch.manual_seed(1)
    im = torch.rand(2, 3, 64, 48) * 255
    wrapper = NetWithBackbone(NAME, use_gpu=False)
    with torch.no_grad():
        feats = wrapper.extract_backbone(im)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        reference = original.extract_backbone_features((im / 255 - mean) / std)
    assert list(feats) == ["layer2", "layer3"]
    assert feats["layer2"].shape == (2, 128, 8, 6)
    assert feats["layer3"].shape == (2, 256, 4, 3)
    for layer in feats:
        torch.testing.assert_close(feats[layer], reference[layer], rtol=1e-5, atol=1e-5)


def test_call_runs_the_forward_pass_after_loading(net_dir):
    _, original = net_dir
    torch.manual_seed(2)
    imgs = torch.randn(1, 1, 3, 64, 64)
    bb = torch.tensor([[[10.0, 12.0, 30.0, 28.0]]])
    proposals = torch.tensor([[[[8.0, 10.0, 32.0, 30.0], [12.0, 14.0, 20.0, 20.0]]]])
    wrapper = NetWrapper(NAME, use_gpu=False)
    with torch.no_grad():
        out = wrapper(imgs, imgs, bb, proposals)
        expected = original(imgs, imgs, bb, proposals)
    assert out.shape == (1, 1, 2)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_repr_says_whether_loaded():
    assert "not loaded" in repr(NetWrapper("x.pth", use_gpu=False))
