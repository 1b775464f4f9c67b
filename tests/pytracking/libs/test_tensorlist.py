"""Pins the semantics of TensorList and tensor_operation."""

import copy
import operator

import pytest
import torch

from pytracking.libs.tensorlist import TensorList, tensor_operation


def tl():
    return TensorList([torch.tensor([1.0, 2.0]), torch.tensor([[3.0], [4.0]])])


def other():
    return TensorList([torch.tensor([5.0, 7.0]), torch.tensor([[2.0], [8.0]])])


def assert_list_equal(result, expected):
    assert isinstance(result, TensorList)
    assert len(result) == len(expected)
    for r, e in zip(result, expected):
        torch.testing.assert_close(r, e)


BINARY = [operator.add, operator.sub, operator.mul, operator.truediv, operator.mod, operator.pow]


@pytest.mark.parametrize("op", BINARY)
def test_binary_with_list_is_elementwise(op):
    a, b = tl(), other()
    assert_list_equal(op(a, b), [op(a[0], b[0]), op(a[1], b[1])])


@pytest.mark.parametrize("op", BINARY)
def test_binary_with_scalar_and_tensor_broadcasts(op):
    a = tl()
    assert_list_equal(op(a, 3.0), [op(a[0], 3.0), op(a[1], 3.0)])
    t = torch.tensor(2.0)
    assert_list_equal(op(a, t), [op(a[0], t), op(a[1], t)])


def test_concrete_values():
    assert_list_equal(tl() + other(), [torch.tensor([6.0, 9.0]), torch.tensor([[5.0], [12.0]])])
    assert_list_equal(tl() ** 2, [torch.tensor([1.0, 4.0]), torch.tensor([[9.0], [16.0]])])
    assert_list_equal(other() % 3, [torch.tensor([2.0, 1.0]), torch.tensor([[2.0], [2.0]])])


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, operator.mod])
def test_reflected_with_scalar_and_tensor(op):
    a = tl()
    assert_list_equal(op(10.0, a), [op(10.0, a[0]), op(10.0, a[1])])
    t = torch.tensor(3.0)
    # torch.Tensor defers to TensorList's reflected method.
    assert_list_equal(op(t, a), [op(t, a[0]), op(t, a[1])])


def test_reflected_values():
    assert_list_equal(1 - tl(), [torch.tensor([0.0, -1.0]), torch.tensor([[-2.0], [-3.0]])])
    assert_list_equal(12 / tl(), [torch.tensor([12.0, 6.0]), torch.tensor([[4.0], [3.0]])])


def test_matmul():
    m = TensorList([torch.eye(2), 2 * torch.eye(2)])
    n = TensorList([torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.ones(2, 2)])
    assert_list_equal(m @ n, [n[0], 2 * torch.ones(2, 2)])
    v = torch.tensor([1.0, -1.0])
    assert_list_equal(n @ v, [torch.tensor([-1.0, -1.0]), torch.zeros(2)])
    assert_list_equal(v @ n, [torch.tensor([-2.0, -2.0]), torch.zeros(2)])


def test_reflected_pow():
    assert_list_equal(2 ** tl(), [torch.tensor([2.0, 4.0]), torch.tensor([[8.0], [16.0]])])


@pytest.mark.parametrize("iop", [operator.iadd, operator.isub, operator.imul, operator.itruediv])
@pytest.mark.parametrize("n", [1, 3])
def test_in_place_length_mismatch_raises(iop, n):
    a = tl()
    with pytest.raises(ValueError, match="lengths differ"):
        iop(a, TensorList([torch.ones(1)] * n))


def test_unary():
    a = TensorList([torch.tensor([-1.0, 2.0])])
    assert_list_equal(-a, [torch.tensor([1.0, -2.0])])
    assert_list_equal(+a, [torch.tensor([-1.0, 2.0])])
    assert_list_equal(abs(a), [torch.tensor([1.0, 2.0])])


@pytest.mark.parametrize(
    ("iop", "op"),
    [
        (operator.iadd, operator.add),
        (operator.isub, operator.sub),
        (operator.imul, operator.mul),
        (operator.itruediv, operator.truediv),
    ],
)
@pytest.mark.parametrize("rhs", [other(), 2.0, torch.tensor(4.0)])
def test_in_place_keeps_identity(iop, op, rhs):
    a = tl()
    ids = [id(t) for t in a]
    expected = op(tl(), rhs)
    result = iop(a, rhs)
    assert result is a
    assert [id(t) for t in a] == ids
    assert_list_equal(a, expected)


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, operator.matmul])
def test_length_mismatch_raises(op):
    a = TensorList([torch.eye(2), torch.eye(2)])
    with pytest.raises(ValueError):
        op(a, a[:1])
    with pytest.raises(ValueError):
        op(a[:1], a)


def test_le_ge_are_elementwise():
    a, b = tl(), other()
    le = a <= b
    assert isinstance(le, TensorList)
    assert_list_equal(le, [torch.tensor([True, True]), torch.tensor([[False], [True]])])
    assert_list_equal(a >= 2.0, [torch.tensor([False, True]), torch.tensor([[True], [True]])])


def test_eq_and_lt_keep_list_semantics():
    a = tl()
    assert (a == 3) is False
    assert (a != 3) is True
    assert a == TensorList([a[0], a[1]])  # same tensor objects: list identity shortcut
    assert not isinstance(a == a, TensorList)
    # Lexicographic: a proper prefix is smaller.
    assert a[:1] < a
    assert bool(TensorList([torch.tensor(1.0)]) < TensorList([torch.tensor(2.0)]))


def test_indexing():
    a = TensorList([torch.tensor(float(i)) for i in range(5)])
    assert isinstance(a[1], torch.Tensor) and a[1] is a.list()[1]
    assert isinstance(a[1:3], TensorList) and [t.item() for t in a[1:3]] == [1.0, 2.0]
    picked = a[[4, 0, 2]]
    assert isinstance(picked, TensorList) and [t.item() for t in picked] == [4.0, 0.0, 2.0]
    assert [t.item() for t in a[(1, 1)]] == [1.0, 1.0]
    assert a[-1].item() == 4.0


def test_concat_copy_deepcopy():
    a, b = tl(), other()
    c = a.concat(b)
    assert isinstance(c, TensorList) and len(c) == 4 and c[2] is b[0] and len(a) == 2

    shallow = a.copy()
    assert isinstance(shallow, TensorList) and shallow is not a and shallow[0] is a[0]

    deep = copy.deepcopy(a)
    assert isinstance(deep, TensorList) and deep[0] is not a[0]
    deep[0] += 100
    torch.testing.assert_close(a[0], torch.tensor([1.0, 2.0]))


def test_unroll_and_list():
    x, y, z = (torch.tensor(float(i)) for i in range(3))
    nested = TensorList([x, TensorList([y, TensorList([z])])])
    flat = nested.unroll()
    assert isinstance(flat, TensorList) and len(flat) == 3
    assert flat[0] is x and flat[1] is y and flat[2] is z
    already_flat = TensorList([x, y])
    assert already_flat.unroll() is already_flat

    plain = nested.list()
    assert type(plain) is list and type(plain[1]) is list and type(plain[1][1]) is list
    assert plain[1][1][0] is z


def test_attribute_and_apply():
    a = tl()
    shapes = a.attribute("shape")
    assert isinstance(shapes, TensorList) and list(shapes) == [torch.Size([2]), torch.Size([2, 1])]
    assert list(a.attribute("missing", None)) == [None, None]
    with pytest.raises(AttributeError):
        a.attribute("missing")
    assert_list_equal(a.apply(lambda t: t * 2), [torch.tensor([2.0, 4.0]), torch.tensor([[6.0], [8.0]])])


def test_method_broadcasting():
    a = tl()
    assert_list_equal(a.sum(), [torch.tensor(3.0), torch.tensor(7.0)])
    assert_list_equal(a.view(-1), [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    assert_list_equal(a.clamp(min=2.5), [torch.tensor([2.5, 2.5]), torch.tensor([[3.0], [4.0]])])
    # In-place tensor methods act on the held tensors.
    held = a[1]
    a.zero_()
    assert torch.equal(held, torch.zeros(2, 1))
    a.requires_grad_(True)
    assert all(t.requires_grad for t in a)


def test_non_tensor_attribute_raises():
    a = tl()
    with pytest.raises(AttributeError):
        a.not_a_tensor_method  # noqa: B018
    with pytest.raises(AttributeError):
        a.__not_a_dunder__  # noqa: B018
    assert not hasattr(a, "foo")


@tensor_operation
def scaled_product(a, b, scale=1.0):
    return a * b * scale


def test_tensor_operation_plain_and_list_args():
    x, y = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])
    torch.testing.assert_close(scaled_product(x, y, scale=2.0), torch.tensor([6.0, 16.0]))
    assert scaled_product.__name__ == "scaled_product"

    lx = TensorList([x, 2 * x])
    # Non-list arguments are passed unchanged to every call; list arguments are zipped.
    assert_list_equal(scaled_product(lx, y), [x * y, 2 * x * y])
    assert_list_equal(scaled_product(lx, TensorList([y, x])), [x * y, 2 * x * x])
    assert_list_equal(scaled_product(lx, 1.0, scale=TensorList([1.0, 10.0])), [x, 20 * x])


def test_tensor_operation_maps_only_on_first_argument():
    @tensor_operation
    def kinds(a, b):
        return type(a).__name__, type(b).__name__

    assert kinds(1, TensorList([1, 2])) == ("int", "TensorList")
    assert kinds(TensorList([1, 2]), 3) == TensorList([("int", "int"), ("int", "int")])


def test_tensor_operation_nesting():
    x = torch.tensor([1.0, 2.0])
    nested = TensorList([TensorList([x, 2 * x]), 3 * x])
    out = scaled_product(nested, 2.0)
    assert isinstance(out, TensorList) and isinstance(out[0], TensorList)
    assert_list_equal(out[0], [2 * x, 4 * x])
    torch.testing.assert_close(out[1], 6 * x)
    # Nested list arguments are zipped level by level.
    out = scaled_product(nested, TensorList([TensorList([1.0, 0.0]), 5.0]))
    assert_list_equal(out[0], [x, 0 * x])
    torch.testing.assert_close(out[1], 15 * x)
