"""Image reading and indexed-PNG I/O with explicit backends and errors instead of ``None``.

Backends, in the default order of preference:

* ``'jpeg4py'``: libjpeg-turbo through jpeg4py, used only for ``.jpg``/``.jpeg`` files and only when the Python
  package and the shared library (Debian/Ubuntu ``libturbojpeg0``) load. Probed once per process.
* ``'opencv'``: ``cv2.imdecode`` on the file's bytes, converted BGR -> RGB.
* ``'pil'``: Pillow.

:func:`imread` returns an HxWx3 uint8 RGB array for every input kind (grayscale, RGBA, palette, 16-bit), so the
backends are interchangeable: alpha is dropped, gray is replicated to three channels, 16-bit values are divided
by 256 (``>> 8``, as OpenCV does) and EXIF orientation tags are ignored (jpeg4py cannot apply them). A missing
file raises :class:`FileNotFoundError`; a file no backend can decode raises :class:`ImageReadError`.

cv2 and PIL are imported on first use, so importing this module is cheap.
"""

from __future__ import annotations

import errno
import functools
import importlib
import io
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

__all__ = [
    "ImageReadError",
    "BACKENDS",
    "available_backends",
    "unusable_backends",
    "set_default_backend",
    "get_default_backend",
    "imread",
    "jpeg4py_loader",
    "opencv_loader",
    "pil_loader",
    "default_image_loader",
    "jpeg4py_loader_w_failsafe",
    "opencv_seg_loader",
    "imread_indexed",
    "imwrite_indexed",
    "davis_palette",
]

PathLike = str | os.PathLike

#: Every backend name, in the default order of preference.
BACKENDS: tuple[str, ...] = ("jpeg4py", "opencv", "pil")

_JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe")
_default_backend: str | None = None


class ImageReadError(OSError):
    """An image file exists but could not be decoded by any of the backends tried.

    Attributes:
        path: the file.
        errors: backend name -> error text, for each backend tried (in order).
    """

    def __init__(self, path: PathLike, errors: dict[str, str] | None = None):
        self.path = os.fspath(path)
        self.errors = dict(errors or {})
        tried = "; ".join(f"{name}: {msg}" for name, msg in self.errors.items()) or "no backend could be tried"
        super().__init__(f"Could not decode image '{self.path}' (corrupt, truncated or not an image?). {tried}")

    def __reduce__(self):
        # OSError pickles its message only; keep path and errors so the error survives worker processes.
        return type(self), (self.path, self.errors)


# ---------------------------------------------------------------------------------------------------------------
# Backend discovery


@functools.cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@functools.cache
def _probe(backend: str) -> str | None:
    """Return ``None`` when ``backend`` is usable here, else the reason it is not (cached per process)."""
    if backend == "jpeg4py":
        mod = _module("jpeg4py")
        if mod is None:
            return "the jpeg4py package is not installed"
        try:
            # Loads libturbojpeg.so.0; constructing a JPEG object without it leaves a half-built object whose
            # destructor prints a spurious traceback, so the library is loaded explicitly first.
            mod.initialize()
        except OSError as e:
            return f"libjpeg-turbo could not be loaded ({e}); install Debian/Ubuntu's libturbojpeg0"
        return None
    if backend == "opencv":
        return None if _module("cv2") is not None else "OpenCV (cv2) is not installed"
    if backend == "pil":
        return None if _module("PIL.Image") is not None else "Pillow is not installed"
    raise ValueError(f"Unknown image backend {backend!r}; choose one of {BACKENDS}")


def available_backends() -> tuple[str, ...]:
    """Usable backends on this machine, in the default order of preference."""
    return tuple(name for name in BACKENDS if _probe(name) is None)


def unusable_backends() -> dict[str, str]:
    """Backends that cannot be used on this machine, mapped to the reason (e.g. libturbojpeg0 missing)."""
    return {name: reason for name in BACKENDS if (reason := _probe(name)) is not None}


def set_default_backend(backend: str | None) -> None:
    """Make ``backend`` the first one :func:`imread` tries when called without ``backend``.

    The remaining usable backends are still tried after it. ``None`` restores the built-in order.

    Args:
        backend: one of :data:`BACKENDS`, or ``None``.
    """
    global _default_backend
    if backend is not None:
        _require(backend)
    _default_backend = backend


def get_default_backend() -> str | None:
    """The backend set with :func:`set_default_backend` (``None``: built-in order)."""
    return _default_backend


def _require(backend: str) -> None:
    reason = _probe(backend)
    if reason is not None:
        raise RuntimeError(
            f"Image backend {backend!r} is not usable: {reason}. Usable backends: {available_backends()}"
        )


# ---------------------------------------------------------------------------------------------------------------
# Decoders: bytes -> HxWx3 uint8 RGB


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        # 16-bit (or 32-bit 'I' mode holding 16-bit data): keep the high byte, as OpenCV's 8-bit conversion does.
        return (np.clip(a, 0, 65535) >> 8).astype(np.uint8)
    return np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)


def _gray_or_color_to_rgb(a: np.ndarray) -> np.ndarray:
    a = _to_uint8(a)
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    return a


def _decode_jpeg4py(data: np.ndarray) -> np.ndarray:
    mod = _module("jpeg4py")
    return mod.JPEG(data).decode()


def _decode_opencv(data: np.ndarray) -> np.ndarray:
    cv2 = _module("cv2")
    # IMREAD_COLOR gives 8-bit BGR for gray/alpha/palette/16-bit inputs; EXIF rotation is skipped so that all
    # backends agree pixel for pixel.
    img = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        raise ValueError("cv2.imdecode could not decode the data")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _decode_pil(data: np.ndarray) -> np.ndarray:
    image_mod = _module("PIL.Image")
    with image_mod.open(io.BytesIO(data.tobytes())) as im:
        im.load()
        if im.mode.startswith("I") or im.mode == "F":
            # Pillow's own I;16 -> RGB conversion clips at 255 instead of scaling.
            return _gray_or_color_to_rgb(np.asarray(im))
        if im.mode != "RGB":
            im = im.convert("RGB")
        return np.asarray(im)


_DECODERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "jpeg4py": _decode_jpeg4py,
    "opencv": _decode_opencv,
    "pil": _decode_pil,
}


def _read_bytes(path: PathLike) -> np.ndarray:
    try:
        return np.fromfile(os.fspath(path), dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT,
            "Image file not found (check the dataset path in your local settings: "
            "pytracking/evaluation/local.py or ltr/admin/local.py)",
            os.fspath(path),
        ) from None


def _jpeg_truncation(data: np.ndarray) -> str | None:
    """Reason why JPEG ``data`` looks truncated, or ``None``.

    Entropy-coded data cannot contain the marker bytes FF D9 (end of image) or FF DA (start of scan), so a
    complete file has an end-of-image marker after its last start-of-scan. Checked explicitly because some
    decoders (libjpeg-turbo, older OpenCV) fill a truncated image with grey and only print a warning.
    """
    raw = data.tobytes()
    if not raw.startswith(b"\xff\xd8"):
        return None
    if raw.rfind(b"\xff\xd9") < raw.rfind(b"\xff\xda"):
        return "JPEG data ends before its end-of-image marker (truncated file)"
    return None


def _decode(path: PathLike, backends: Sequence[str]) -> np.ndarray:
    data = _read_bytes(path)
    if data.size == 0:
        raise ImageReadError(path, {"check": "the file is empty"})
    reason = _jpeg_truncation(data)
    if reason is not None:
        raise ImageReadError(path, {"check": reason})
    errors: dict[str, str] = {}
    for name in backends:
        try:
            img = _gray_or_color_to_rgb(_DECODERS[name](data))
        except Exception as e:  # any decoder failure means "try the next backend"
            errors[name] = f"{type(e).__name__}: {e}"
            continue
        if img.ndim != 3 or img.shape[2] != 3:
            errors[name] = f"decoded to an unexpected shape {img.shape}"
            continue
        return np.ascontiguousarray(img)
    raise ImageReadError(path, errors)


def _auto_order(path: PathLike) -> list[str]:
    order = list(BACKENDS)
    if _default_backend is not None:
        order.remove(_default_backend)
        order.insert(0, _default_backend)
    is_jpeg = os.fspath(path).lower().endswith(_JPEG_SUFFIXES)
    return [name for name in order if _probe(name) is None and (name != "jpeg4py" or is_jpeg)]


def imread(path: PathLike, backend: str | None = None) -> np.ndarray:
    """Read an image file as RGB.

    Args:
        path: image file.
        backend: ``'jpeg4py'``, ``'opencv'`` or ``'pil'`` to use only that backend; ``None`` tries the usable
            backends in order (jpeg4py only for JPEG file names), falling through on decode errors.

    Returns:
        Array of shape (H, W, 3), dtype uint8, RGB channel order.

    Raises:
        FileNotFoundError: the file does not exist.
        ImageReadError: no backend could decode the file (the message lists each backend's error).
        RuntimeError: the requested backend is not usable on this machine.
        ValueError: unknown backend name.
    """
    if backend is None:
        order = _auto_order(path)
    else:
        _require(backend)
        order = [backend]
    return _decode(path, order)


# ---------------------------------------------------------------------------------------------------------------
# Named loaders (the original's names, found by dataset classes through ``ltr.data.image_loader``)


def jpeg4py_loader(path: PathLike) -> np.ndarray:
    """Read an image with jpeg4py only (HxWx3 uint8 RGB); see :func:`imread`."""
    return imread(path, backend="jpeg4py")


def opencv_loader(path: PathLike) -> np.ndarray:
    """Read an image with OpenCV only (HxWx3 uint8 RGB); see :func:`imread`."""
    return imread(path, backend="opencv")


def pil_loader(path: PathLike) -> np.ndarray:
    """Read an image with Pillow only (HxWx3 uint8 RGB); see :func:`imread`."""
    return imread(path, backend="pil")


def default_image_loader(path: PathLike) -> np.ndarray:
    """Read an image with the best usable backend, falling back on errors (HxWx3 uint8 RGB)."""
    return imread(path)


def jpeg4py_loader_w_failsafe(path: PathLike) -> np.ndarray:
    """Read an image with jpeg4py, falling back to OpenCV when jpeg4py is unusable or fails (HxWx3 uint8 RGB)."""
    order = [name for name in ("jpeg4py", "opencv") if _probe(name) is None]
    if not order:
        _require("opencv")
    return _decode(path, order)


def opencv_seg_loader(path: PathLike) -> np.ndarray:
    """Read a single-channel label image (e.g. an 8-bit grayscale mask PNG) with OpenCV.

    Palette ('P' mode) PNGs are expanded to colours by OpenCV; read those with :func:`imread_indexed`.

    Args:
        path: label image file.

    Returns:
        Array of shape (H, W) with the stored values (uint8, or uint16 for 16-bit files).

    Raises:
        FileNotFoundError: the file does not exist.
        ImageReadError: the file cannot be decoded or holds differing colour channels.
    """
    _require("opencv")
    cv2 = _module("cv2")
    data = _read_bytes(path)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ImageReadError(path, {"opencv": "cv2.imdecode could not decode the data"})
    if img.ndim == 3:
        # A label map saved as 3 equal channels is still a label map; distinct channels are colours.
        if not (img[..., :3] == img[..., :1]).all():
            raise ImageReadError(
                path, {"opencv": "not a single-channel label image (colour channels differ); try imread_indexed"}
            )
        img = img[..., 0]
    return np.ascontiguousarray(img)


# ---------------------------------------------------------------------------------------------------------------
# Indexed (palette) PNGs, as used by DAVIS / YouTube-VOS annotations and segmentation results


def davis_palette() -> np.ndarray:
    """The DAVIS / PASCAL VOC colour map.

    Colour of index ``i``: bit ``k`` of ``i`` goes to bit ``7 - k // 3`` of channel ``k % 3`` (R, G, B), so
    0 is black, 1 = (128, 0, 0), 2 = (0, 128, 0), 3 = (128, 128, 0), 4 = (0, 0, 128), ...

    Returns:
        Array of shape (256, 3), dtype uint8.
    """
    idx = np.arange(256)
    pal = np.zeros((256, 3), dtype=np.int64)
    for k in range(8 * 3):
        bit = (idx >> k) & 1
        pal[:, k % 3] |= bit << (7 - k // 3)
    return pal.astype(np.uint8)


def imread_indexed(path: PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a label PNG: palette ('P') images give their indices, grayscale ('L') images their values.

    Args:
        path: image file.

    Returns:
        ``(labels, palette)``: labels of shape (H, W), uint8; palette of shape (256, 3), uint8 (zero-padded when
        the file stores fewer entries), or ``None`` for a grayscale file.

    Raises:
        FileNotFoundError: the file does not exist.
        ImageReadError: the file cannot be decoded.
        ValueError: the image is neither palette, grayscale nor 1-bit.
    """
    _require("pil")
    image_mod = _module("PIL.Image")
    data = _read_bytes(path)
    try:
        with image_mod.open(io.BytesIO(data.tobytes())) as im:
            im.load()
            mode = im.mode
            labels = np.array(im)
            raw_palette = im.getpalette() if mode == "P" else None
    except (OSError, ValueError) as e:
        raise ImageReadError(path, {"pil": f"{type(e).__name__}: {e}"}) from e
    if mode == "P":
        palette = np.zeros((256, 3), dtype=np.uint8)
        entries = np.asarray(raw_palette or [], dtype=np.uint8).reshape(-1, 3)[:256]
        palette[: len(entries)] = entries
        return labels.astype(np.uint8, copy=False), palette
    if mode in ("L", "1"):
        return labels.astype(np.uint8), None
    raise ValueError(f"'{os.fspath(path)}' is a {mode!r} image, not an indexed ('P') or grayscale ('L') label map")


def imwrite_indexed(path: PathLike, array: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write a label map as a palette ('P' mode) PNG, atomically (temporary file in the same folder + rename).

    Args:
        path: output file (its folder must exist).
        array: labels of shape (H, W): integer or bool values in 0..255 (a CPU tensor is accepted too).
        palette: colours of shape (K, 3), K <= 256, values 0..255; default :func:`davis_palette`.

    Raises:
        ValueError: wrong shape, dtype or value range of ``array`` or ``palette``.
        FileNotFoundError: the output folder does not exist.
    """
    labels = np.asarray(array)
    if labels.ndim != 2:
        raise ValueError(f"imwrite_indexed: expected a label map of shape (H, W), got shape {labels.shape}")
    if labels.dtype == np.bool_:
        labels = labels.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"imwrite_indexed: labels must be integers (or bool), got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(
            f"imwrite_indexed: labels must lie in 0..255 for a palette PNG, got range {labels.min()}..{labels.max()}"
        )
    pal = davis_palette() if palette is None else np.asarray(palette)
    if pal.ndim != 2 or pal.shape[1] != 3 or not 1 <= pal.shape[0] <= 256:
        raise ValueError(f"imwrite_indexed: palette must have shape (K, 3) with K <= 256, got {pal.shape}")
    if not np.issubdtype(pal.dtype, np.integer) or pal.min() < 0 or pal.max() > 255:
        raise ValueError("imwrite_indexed: palette values must be integers in 0..255")

    _require("pil")
    image_mod = _module("PIL.Image")
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    # frombytes in 'P' mode stores the values as palette indices untouched (a convert() would remap them).
    im = image_mod.frombytes("P", (labels.shape[1], labels.shape[0]), labels.tobytes())
    im.putpalette(pal.astype(np.uint8).ravel().tolist())

    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open applies the process umask to 0o666, so the final file gets the usual permissions (mkstemp's 0o600
    # would survive the rename).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            im.save(f, format="PNG")
        os.replace(tmp, target)
    except BaseException:
        # Leave no partial temporary file behind, whatever interrupted the write.
        tmp.unlink(missing_ok=True)
        raise
