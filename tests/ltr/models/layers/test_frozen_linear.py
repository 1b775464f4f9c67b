import pytest
import torch
import torch.nn.functional as F

from ltr.models.layers.frozen_linear import FrozenLinear


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rows", [1, 10, 37])
def test_frozen_linear_equals_linear_with_and_without_relu(dtype, rows):
    g = torch.Generator().manual_seed(rows)
    weight = torch.randn(64, 300, generator=g, dtype=dtype)
    bias = torch.randn(64, generator=g, dtype=dtype)
    x = torch.randn(rows, 300, generator=g, dtype=dtype)
    layer = FrozenLinear(weight, bias, rows=10)
    tol = 1e-4 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(layer(x), F.linear(x, weight, bias), rtol=tol, atol=tol)
    torch.testing.assert_close(layer(x, relu=True), F.linear(x, weight, bias).clamp_min(0), rtol=tol, atol=tol)
    # Without bias, and on a strided (non-contiguous) input.
    wide = torch.randn(rows, 600, generator=g, dtype=dtype)[:, ::2]
    torch.testing.assert_close(FrozenLinear(weight)(wide), F.linear(wide, weight), rtol=tol, atol=tol)


def test_frozen_linear_uses_the_fast_path_only_for_float32_on_cpu():
    assert FrozenLinear(torch.randn(4, 3, dtype=torch.float64)).packed is None
    packed = FrozenLinear(torch.randn(4, 3)).packed
    assert packed is None or packed.shape == (4, 3)  # None where the build has no oneDNN
    # Small integers are exact on either path.
    layer = FrozenLinear(torch.ones(2, 3), torch.tensor([1.0, -5.0]))
    assert layer(torch.ones(1, 3)).tolist() == [[4.0, -2.0]]
    assert layer(torch.ones(1, 3), relu=True).tolist() == [[4.0, 0.0]]


def test_frozen_linear_respects_a_disabled_onednn(monkeypatch):
    weight, x = torch.randn(5, 7), torch.randn(3, 7)
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    layer = FrozenLinear(weight)
    assert layer.packed is None
    torch.testing.assert_close(layer(x), F.linear(x, weight))
