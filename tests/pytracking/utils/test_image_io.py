import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytracking.utils import image_io
from pytracking.utils.image_io import (
    BACKENDS,
    ImageReadError,
    available_backends,
    davis_palette,
    imread,
    imread_indexed,
    imwrite_indexed,
)

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"
OTB_JPEG = REAL / "OTB" / "Crossing" / "img" / "0001.jpg"
DAVIS_MASK = REAL / "DAVIS" / "Annotations" / "480p" / "blackswan" / "00000.png"


def _real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    return path


def _usable(backend: str) -> None:
    if backend not in available_backends():
        pytest.skip(f"image backend {backend!r} is not usable here")


@pytest.fixture(autouse=True)
def _restore_default_backend():
    yield
    image_io.set_default_backend(None)


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)


@pytest.fixture
def jpeg_file(tmp_path):
    """A synthetic JPEG (smooth content, so decoders agree closely); independent of the shared data."""
    yy, xx = np.mgrid[0:48, 0:64]
    img = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=-1).astype(np.uint8)
    path = tmp_path / "synthetic.jpg"
    Image.fromarray(img).save(path, quality=95)
    return path


def test_backend_discovery():
    usable = available_backends()
    assert set(usable) <= set(BACKENDS)
    assert list(usable) == [b for b in BACKENDS if b in usable]  # preference order kept
    # The project's requirements install OpenCV and Pillow.
    assert "opencv" in usable and "pil" in usable
    unusable = image_io.unusable_backends()
    assert set(unusable) == set(BACKENDS) - set(usable) and all(unusable.values())
    with pytest.raises(ValueError, match="Unknown image backend"):
        imread("whatever.jpg", backend="magick")


def test_unusable_backend_is_a_clear_error(jpeg_file):
    if "jpeg4py" in available_backends():
        pytest.skip("jpeg4py is usable here")
    with pytest.raises(RuntimeError, match="jpeg4py.*libturbojpeg0|jpeg4py.*not installed"):
        imread(jpeg_file, backend="jpeg4py")
    # The failsafe loader falls back to OpenCV instead.
    np.testing.assert_array_equal(image_io.jpeg4py_loader_w_failsafe(jpeg_file), imread(jpeg_file, backend="opencv"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_jpeg_identical_across_backends(backend):
    path = _real(OTB_JPEG)
    _usable(backend)
    img = imread(path, backend=backend)
    assert img.shape == (240, 360, 3) and img.dtype == np.uint8 and img.flags["C_CONTIGUOUS"]
    ref = imread(path, backend="opencv")
    # Different libjpeg builds may round the IDCT/upsampling differently by a grey level or two.
    diff = np.abs(img.astype(np.int16) - ref.astype(np.int16))
    assert diff.mean() < 1.0 and diff.max() <= 8
    # RGB order, not BGR: compare with Pillow's own decode channel by channel.
    pil = np.asarray(Image.open(path).convert("RGB")).astype(np.int16)
    assert np.abs(img.astype(np.int16) - pil).mean() < 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_synthetic_jpeg_rgb_order(backend, jpeg_file):
    _usable(backend)
    img = imread(jpeg_file, backend=backend).astype(np.int16)
    yy, xx = np.mgrid[0:48, 0:64]
    # The red channel grows along x, the green one along y: a BGR mix-up would swap these.
    assert np.abs(img[..., 0] - xx * 4).mean() < 3
    assert np.abs(img[..., 1] - yy * 5).mean() < 3


@pytest.mark.parametrize("backend", ["opencv", "pil"])
class TestLosslessInputs:
    def test_rgb_png_exact(self, backend, tmp_path, rgb):
        path = tmp_path / "rgb.png"
        Image.fromarray(rgb).save(path)
        np.testing.assert_array_equal(imread(path, backend=backend), rgb)

    def test_grayscale_png_replicated(self, backend, tmp_path, rgb):
        gray = rgb[..., 0]
        path = tmp_path / "gray.png"
        Image.fromarray(gray).save(path)
        out = imread(path, backend=backend)
        assert out.shape == (17, 23, 3)
        for c in range(3):
            np.testing.assert_array_equal(out[..., c], gray)

    def test_rgba_png_drops_alpha(self, backend, tmp_path, rgb):
        alpha = np.full(rgb.shape[:2], 77, dtype=np.uint8)
        path = tmp_path / "rgba.png"
        Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(path)
        np.testing.assert_array_equal(imread(path, backend=backend), rgb)

    def test_16bit_png_keeps_high_byte(self, backend, tmp_path):
        values = np.array([[0, 255, 256, 4660], [32768, 65535, 511, 1000]], dtype=np.uint16)
        path = tmp_path / "deep.png"
        Image.fromarray(values).save(path)
        out = imread(path, backend=backend)
        assert out.dtype == np.uint8 and out.shape == (2, 4, 3)
        np.testing.assert_array_equal(out[..., 0], [[0, 0, 1, 18], [128, 255, 1, 3]])

    def test_palette_png_expanded_to_colours(self, backend, tmp_path):
        labels = np.array([[0, 1, 2], [3, 4, 1]], dtype=np.uint8)
        path = tmp_path / "pal.png"
        imwrite_indexed(path, labels)
        np.testing.assert_array_equal(imread(path, backend=backend), davis_palette()[labels])


def test_named_loaders(jpeg_file):
    ref = imread(jpeg_file, backend="opencv")
    np.testing.assert_array_equal(image_io.opencv_loader(jpeg_file), ref)
    for loader in (image_io.default_image_loader, image_io.jpeg4py_loader_w_failsafe, image_io.pil_loader):
        out = loader(jpeg_file)
        assert out.shape == ref.shape and out.dtype == np.uint8
        assert np.abs(out.astype(np.int16) - ref).mean() < 1.0


def test_ltr_reexports_the_same_functions():
    from ltr.data import image_loader

    for name in (
        "jpeg4py_loader",
        "opencv_loader",
        "default_image_loader",
        "jpeg4py_loader_w_failsafe",
        "opencv_seg_loader",
        "imread_indexed",
        "imwrite_indexed",
    ):
        assert getattr(image_loader, name) is getattr(image_io, name)


# --- errors ----------------------------------------------------------------------------------------------------

LOADERS = [
    image_io.default_image_loader,
    image_io.opencv_loader,
    image_io.pil_loader,
    image_io.jpeg4py_loader_w_failsafe,
]


@pytest.mark.parametrize("loader", LOADERS + [image_io.opencv_seg_loader], ids=lambda f: f.__name__)
def test_missing_file(loader, tmp_path):
    path = tmp_path / "no_such_dir" / "0001.jpg"
    with pytest.raises(FileNotFoundError, match="0001.jpg") as info:
        loader(path)
    assert "dataset path" in str(info.value)
    with pytest.raises(FileNotFoundError, match="0001.png"):
        imread_indexed(tmp_path / "0001.png")


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty"])
def test_corrupt_file(loader, kind, jpeg_file, tmp_path):
    data = jpeg_file.read_bytes()
    content = {"truncated": data[: len(data) // 2], "garbage": b"not an image at all" * 10, "empty": b""}[kind]
    path = tmp_path / f"corrupt_{kind}.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        loader(path)
    err = info.value
    assert isinstance(err, OSError)
    assert str(path) in str(err) and err.path == str(path)
    assert err.errors  # at least one reason recorded


def test_image_read_error_pickles():
    err = ImageReadError("/data/seq/0001.jpg", {"opencv": "bad", "pil": "worse"})
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ImageReadError and copy.path == err.path and copy.errors == err.errors
    assert str(copy) == str(err)


def test_garbage_error_lists_each_backend_tried(tmp_path):
    path = tmp_path / "garbage.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    with pytest.raises(ImageReadError) as info:
        imread(path)
    assert list(info.value.errors) == ["opencv", "pil"]  # jpeg4py is skipped for non-JPEG names
    assert "opencv:" in str(info.value) and "pil:" in str(info.value)


def test_truncated_real_jpeg(tmp_path):
    data = _real(OTB_JPEG).read_bytes()
    path = tmp_path / "0001.jpg"
    path.write_bytes(data[: int(len(data) * 0.9)])
    with pytest.raises(ImageReadError, match="truncated"):
        imread(path)


def test_fallback_and_default_backend(monkeypatch, jpeg_file):
    calls = []

    def broken(name):
        def decode(data):
            calls.append(name)
            raise ValueError("simulated decoder failure")

        return decode

    for name in ("jpeg4py", "opencv"):
        monkeypatch.setitem(image_io._DECODERS, name, broken(name))
    # jpeg4py (where usable) and OpenCV fail, Pillow takes over.
    out = imread(jpeg_file)
    assert out.shape == (48, 64, 3) and "opencv" in calls
    # With Pillow as the default, OpenCV is not even tried.
    calls.clear()
    image_io.set_default_backend("pil")
    assert image_io.get_default_backend() == "pil"
    imread(jpeg_file)
    assert calls == []
    with pytest.raises(ValueError):
        image_io.set_default_backend("nope")


# --- label images ----------------------------------------------------------------------------------------------


def test_davis_palette_values():
    pal = davis_palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    expected = {
        0: (0, 0, 0),
        1: (128, 0, 0),
        2: (0, 128, 0),
        3: (128, 128, 0),
        4: (0, 0, 128),
        5: (128, 0, 128),
        6: (0, 128, 128),
        7: (128, 128, 128),
        8: (64, 0, 0),
        9: (192, 0, 0),
        255: (224, 224, 192),
    }
    for index, colour in expected.items():
        assert tuple(pal[index]) == colour, index
    assert len({tuple(c) for c in pal}) == 256  # every label gets its own colour


def test_indexed_round_trip_default_palette(tmp_path):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, size=(30, 41), dtype=np.uint8)
    path = tmp_path / "00000.png"
    imwrite_indexed(path, labels)
    with Image.open(path) as im:
        assert im.mode == "P" and im.format == "PNG"
    got, palette = imread_indexed(path)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, labels)
    np.testing.assert_array_equal(palette, davis_palette())
    assert sorted(os.listdir(tmp_path)) == ["00000.png"]  # no temporary file left behind


def test_indexed_round_trip_custom_palette_and_overwrite(tmp_path):
    path = tmp_path / "mask.png"
    imwrite_indexed(path, np.ones((4, 5), dtype=np.int64))
    labels = np.array([[0, 1, 2, 2], [2, 1, 0, 0]], dtype=np.int32)
    custom = np.array([[10, 20, 30], [40, 50, 60], [255, 0, 7]])
    imwrite_indexed(path, labels, palette=custom)  # replaces the first file
    got, palette = imread_indexed(path)
    np.testing.assert_array_equal(got, labels)
    np.testing.assert_array_equal(palette[:3], custom)
    np.testing.assert_array_equal(palette[3:], 0)
    np.testing.assert_array_equal(imread(path, backend="pil"), custom[labels])


def test_imwrite_indexed_bool_and_torch(tmp_path):
    torch = pytest.importorskip("torch")
    mask = torch.zeros(3, 4, dtype=torch.uint8)
    mask[1, 2] = 1
    imwrite_indexed(tmp_path / "t.png", mask)
    np.testing.assert_array_equal(imread_indexed(tmp_path / "t.png")[0], mask.numpy())
    imwrite_indexed(tmp_path / "b.png", mask.numpy() > 0)
    np.testing.assert_array_equal(imread_indexed(tmp_path / "b.png")[0], mask.numpy())


@pytest.mark.parametrize(
    "array,palette,match",
    [
        (np.zeros((2, 3, 1), dtype=np.uint8), None, "shape"),
        (np.zeros((2, 3), dtype=np.float32), None, "integers"),
        (np.array([[0, 256]]), None, "0..255"),
        (np.array([[-1, 0]]), None, "0..255"),
        (np.zeros((2, 3), dtype=np.uint8), np.zeros((4, 4), dtype=np.uint8), "palette"),
        (np.zeros((2, 3), dtype=np.uint8), np.full((4, 3), 300), "palette"),
    ],
)
def test_imwrite_indexed_validation(tmp_path, array, palette, match):
    with pytest.raises(ValueError, match=match):
        imwrite_indexed(tmp_path / "x.png", array, palette=palette)
    assert os.listdir(tmp_path) == []


def test_imwrite_indexed_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        imwrite_indexed(tmp_path / "missing" / "x.png", np.zeros((2, 2), dtype=np.uint8))


def test_imread_indexed_grayscale_and_rejects_colour(tmp_path, rgb):
    Image.fromarray(rgb[..., 1]).save(tmp_path / "l.png")
    labels, palette = imread_indexed(tmp_path / "l.png")
    assert palette is None
    np.testing.assert_array_equal(labels, rgb[..., 1])
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="'RGB'"):
        imread_indexed(tmp_path / "rgb.png")
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match="bad.png"):
        imread_indexed(tmp_path / "bad.png")


def test_real_davis_annotation():
    path = _real(DAVIS_MASK)
    labels, palette = imread_indexed(path)
    assert labels.shape == (480, 854) and labels.dtype == np.uint8 and palette is None  # DAVIS-2016: mode 'L'
    assert set(np.unique(labels).tolist()) == {0, 255}
    seg = image_io.opencv_seg_loader(path)
    np.testing.assert_array_equal(seg, labels)
    # The swan is in the frame's middle band, not at the border.
    ys, xs = np.nonzero(labels)
    assert 0 < ys.min() < ys.max() < 479 and 0 < xs.min() < xs.max() < 853


def test_opencv_seg_loader(tmp_path, rgb):
    Image.fromarray(rgb[..., 2]).save(tmp_path / "l.png")
    np.testing.assert_array_equal(image_io.opencv_seg_loader(tmp_path / "l.png"), rgb[..., 2])
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    with pytest.raises(ImageReadError, match="imread_indexed"):
        image_io.opencv_seg_loader(tmp_path / "rgb.png")
