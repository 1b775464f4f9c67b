"""Tests for the (..., 2) complex arithmetic against numpy's complex numbers."""

import numpy as np
import pytest
import torch

from pytracking.libs import complex
from pytracking.libs.tensorlist import TensorList


def rand_c(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, 2, dtype=torch.float64)


def to_np(a: torch.Tensor) -> np.ndarray:
    return a[..., 0].numpy() + 1j * a[..., 1].numpy()


def from_np(z: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack((z.real, z.imag), axis=-1))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_is_complex_is_real():
    assert complex.is_complex(torch.zeros(3, 4, 2))
    assert complex.is_complex(torch.zeros(2))
    assert not complex.is_complex(torch.zeros(3, 4))
    assert not complex.is_complex(torch.zeros(()))
    assert complex.is_real(torch.zeros(4, 3))
    assert not complex.is_real(torch.zeros(4, 2))


def test_parts_and_construction():
    a = torch.tensor([1.0, -2.0, 3.5])
    b = torch.tensor([0.5, 4.0, -1.0])
    c = complex.complex(a, b)
    assert c.shape == (3, 2)
    assert torch.equal(complex.real(c), a)
    assert torch.equal(complex.imag(c), b)
    assert torch.equal(complex.complex(a), torch.stack((a, torch.zeros(3)), -1))
    assert torch.equal(complex.complex(None, b), torch.stack((torch.zeros(3), b), -1))
    # Broadcasting of the two parts.
    assert complex.complex(torch.ones(3, 1), torch.zeros(1, 4)).shape == (3, 4, 2)
    with pytest.raises(ValueError):
        complex.complex(None, None)


def test_conj_abs():
    a = rand_c(3, 4)
    z = to_np(a)
    np.testing.assert_allclose(to_np(complex.conj(a)), np.conj(z))
    np.testing.assert_allclose(complex.abs_sqr(a).numpy(), np.abs(z) ** 2, rtol=1e-12)
    np.testing.assert_allclose(complex.abs(a).numpy(), np.abs(z), rtol=1e-12)
    assert complex.abs(torch.tensor([3.0, -4.0])).item() == 5.0


def test_mult_exact_values():
    # (1 + 2i)(3 - i) = 5 + 5i ; (1 + 2i) conj(3 - i) = (1 + 2i)(3 + i) = 1 + 7i ; (1 + 2i) / (3 - i) = 0.1 + 0.7i
    a = torch.tensor([1.0, 2.0], dtype=torch.float64)
    b = torch.tensor([3.0, -1.0], dtype=torch.float64)
    assert complex.mult(a, b).tolist() == [5.0, 5.0]
    assert complex.mult_conj(a, b).tolist() == [1.0, 7.0]
    np.testing.assert_allclose(complex.div(a, b).numpy(), [0.1, 0.7], rtol=1e-15)


def test_mult_div_vs_numpy_broadcasting():
    a = rand_c(2, 1, 5)
    b = rand_c(3, 5)
    za, zb = to_np(a), to_np(b)
    np.testing.assert_allclose(to_np(complex.mult(a, b)), za * zb, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mult_conj(a, b)), za * np.conj(zb), rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.div(a, b)), za / zb, rtol=1e-12)


def test_real_operands():
    a = rand_c(2, 3, 4)
    r = torch.randn(3, 4, dtype=torch.float64)
    za, zr = to_np(a), r.numpy()
    np.testing.assert_allclose(to_np(complex.mult(a, r)), za * zr, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mult(r, a)), za * zr, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mult_real_cplx(r, a)), za * zr, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mult_conj(a, r)), za * zr, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mult_conj(r, a)), zr * np.conj(za), rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.div(a, r)), za / zr, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.div_cplx_real(a, r)), za / zr, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.div(r, a)), zr / za, rtol=1e-12)


def test_exp_imag():
    t = torch.tensor([0.0, np.pi / 2, np.pi, 1.234], dtype=torch.float64)
    np.testing.assert_allclose(to_np(complex.exp_imag(t)), np.exp(1j * t.numpy()), atol=1e-15)


@pytest.mark.parametrize("conj_a", [False, True])
@pytest.mark.parametrize("conj_b", [False, True])
def test_mtimes_vs_numpy(conj_a, conj_b):
    a = rand_c(2, 3, 4)
    b = rand_c(1, 4, 5)
    za, zb = to_np(a), to_np(b)
    expected = (np.conj(za) if conj_a else za) @ (np.conj(zb) if conj_b else zb)
    out = complex.mtimes(a, b, conj_a=conj_a, conj_b=conj_b)
    assert out.shape == (2, 3, 5, 2)
    np.testing.assert_allclose(to_np(out), expected, rtol=1e-12)


def test_mtimes_with_real_operand():
    a = rand_c(3, 4)
    r1 = torch.randn(4, 5, dtype=torch.float64)
    r2 = torch.randn(6, 3, dtype=torch.float64)
    za = to_np(a)
    np.testing.assert_allclose(to_np(complex.mtimes(a, r1)), za @ r1.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mtimes_complex_real(a, r1, conj_a=True)), np.conj(za) @ r1.numpy())
    np.testing.assert_allclose(to_np(complex.mtimes(r2, a)), r2.numpy() @ za, rtol=1e-12)
    np.testing.assert_allclose(to_np(complex.mtimes_real_complex(r2, a, conj_b=True)), r2.numpy() @ np.conj(za))


@pytest.mark.parametrize(
    "call",
    [
        lambda r: complex.real(r),
        lambda r: complex.imag(r),
        lambda r: complex.conj(r),
        lambda r: complex.abs(r),
        lambda r: complex.mult(r, r),
        lambda r: complex.mult_conj(r, r),
        lambda r: complex.div(r, r),
        lambda r: complex.mtimes(r, r),
        lambda r: complex.mult_real_cplx(r, r),
        lambda r: complex.div_cplx_real(r, r),
    ],
)
def test_missing_complex_dim_raises(call):
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        call(torch.ones(3, 3))


def test_tensorlist_mapping():
    a = TensorList([rand_c(2, 3), rand_c(4)])
    b = TensorList([rand_c(2, 3), rand_c(4)])
    out = complex.mult(a, b)
    assert isinstance(out, TensorList) and len(out) == 2
    for o, x, y in zip(out, a, b):
        np.testing.assert_allclose(to_np(o), to_np(x) * to_np(y), rtol=1e-12)
    # A plain tensor argument is broadcast to every element.
    s = torch.tensor([0.0, 1.0], dtype=torch.float64)  # i
    rotated = complex.mult(a, s)
    for o, x in zip(rotated, a):
        np.testing.assert_allclose(to_np(o), 1j * to_np(x), rtol=1e-12)
    assert complex.is_complex(TensorList([torch.zeros(2), torch.zeros(3)])) == TensorList([True, False])


def test_gradients():
    a = rand_c(2, 3).requires_grad_()
    b = rand_c(3, 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, y: complex.mtimes(x, y, conj_b=True), (a, b))
    c = rand_c(2, 3)
    assert torch.autograd.gradcheck(complex.div, (a, c.requires_grad_()))
