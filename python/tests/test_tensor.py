"""qgrad.Tensor from Python: dtypes, NumPy round trips and aliasing, views and indexing with
Python's rules, operators against NumPy, and the errors a user meets."""
import gc

import numpy as np
import pytest

import qgrad

rng = np.random.default_rng(0)

DTYPES = [(np.float32, qgrad.float32), (np.int32, qgrad.int32), (np.int8, qgrad.int8),
          (np.uint8, qgrad.uint8)]


def random_array(shape, np_dtype):
    if np_dtype == np.float32:
        return rng.standard_normal(shape).astype(np.float32)
    info = np.iinfo(np_dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape).astype(np_dtype)


@pytest.mark.parametrize("np_dtype,q_dtype", DTYPES)
def test_from_numpy_shares_memory_both_ways(np_dtype, q_dtype):
    a = random_array((3, 4), np_dtype)
    t = qgrad.from_numpy(a)
    assert t.dtype == q_dtype and t.shape == (3, 4)
    np.testing.assert_array_equal(t.numpy(), a)
    a[1, 2] = 7  # the tensor sees writes to the array ...
    assert t[1, 2].item() == 7
    t.numpy()[0, 0] = 5  # ... and the array sees writes through the tensor
    assert a[0, 0] == 5
    assert np.shares_memory(np.asarray(t), a)


def test_tensor_keeps_array_alive():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = qgrad.from_numpy(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(12, dtype=np.float32).reshape(3, 4))


def test_numpy_keeps_tensor_memory_alive():
    t = qgrad.arange(0, 10)
    a = t.numpy()
    del t
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(10, dtype=np.float32))


def test_strided_arrays():
    a = random_array((6, 8), np.float32)
    view = a[::2, 1::3]  # positive strides: shared, not copied
    t = qgrad.from_numpy(view)
    assert np.shares_memory(t.numpy(), a)
    np.testing.assert_array_equal(t.numpy(), view)
    t2 = qgrad.from_numpy(a.T)  # transposed: shared with the transposed strides
    np.testing.assert_array_equal(t2.numpy(), a.T)
    assert t2.strides == (1, 8)
    flipped = a[::-1]  # negative strides: copied
    t3 = qgrad.from_numpy(flipped)
    np.testing.assert_array_equal(t3.numpy(), flipped)
    assert not np.shares_memory(t3.numpy(), a)
    # ops on a non-contiguous view are right
    np.testing.assert_allclose((t * 2 + 1).numpy(), view * 2 + 1, rtol=1e-6)


def test_unsupported_dtypes_are_type_errors():
    for bad in (np.zeros(3), np.zeros(3, np.int64), np.zeros(3, np.float16), np.zeros(3, bool)):
        with pytest.raises(TypeError, match="from_numpy"):
            qgrad.from_numpy(bad)


def test_tensor_constructor_converts_python_data():
    t = qgrad.tensor([[1.5, 2.0], [3.0, -4.25]])
    assert t.dtype == qgrad.float32 and t.shape == (2, 2)
    assert t.tolist() == [[1.5, 2.0], [3.0, -4.25]]
    i = qgrad.tensor([1, 2, 3])
    assert i.dtype == qgrad.int32
    assert qgrad.tensor([1, 2], dtype=qgrad.int8).dtype == qgrad.int8
    with pytest.raises(ValueError, match="int32"):
        qgrad.tensor([2**40])


def test_repr_is_the_cpp_to_string():
    t = qgrad.tensor([[1.0, 2.0]])
    assert repr(t).startswith("tensor(shape=[1, 2], dtype=float32)")
    assert repr(qgrad.float32) == "qgrad.float32" and str(qgrad.uint8) == "uint8"


def test_indexing_follows_python_rules():
    a = random_array((4, 5, 6), np.float32)
    t = qgrad.from_numpy(a)
    for key in [1, -1, (2, 3), (slice(1, 3),), (slice(None), slice(None, None, 2)),
                (Ellipsis, 2), (None, 1), (slice(-3, None), None, slice(2, 100)),
                (1, Ellipsis, slice(1, 4)), (slice(10, 20),)]:
        np.testing.assert_array_equal(np.asarray(t[key]), a[key], err_msg=str(key))
    with pytest.raises(IndexError):
        t[4]
    with pytest.raises(IndexError):
        t[0, 0, 0, 0]
    with pytest.raises(IndexError, match="step"):
        t[::-1]
    with pytest.raises(TypeError):
        t["a"]


def test_setitem_writes_into_the_view():
    a = random_array((3, 4), np.float32)
    t = qgrad.from_numpy(a.copy())
    t[1] = 2.5
    t[:, 0] = qgrad.tensor([7.0, 8.0, 9.0])
    expected = a.copy()
    expected[1] = 2.5
    expected[:, 0] = [7, 8, 9]
    np.testing.assert_array_equal(t.numpy(), expected)


def test_views_share_storage():
    t = qgrad.from_numpy(random_array((2, 3, 4), np.float32))
    for v in (t.reshape(6, 4), t.view((2, 12)), t.transpose(0, 2), t.permute(2, 0, 1),
              t.flatten(1), t.unsqueeze(0), t[0]):
        assert np.shares_memory(v.numpy(), t.numpy())
    np.testing.assert_array_equal(t.permute(2, 0, 1).numpy(), t.numpy().transpose(2, 0, 1))
    np.testing.assert_array_equal(t.expand(5, 2, 3, 4).numpy()[3], t.numpy())
    c = t.clone()
    assert not np.shares_memory(c.numpy(), t.numpy())


def test_operators_match_numpy():
    a, b = random_array((3, 4), np.float32), random_array((4,), np.float32)
    b = np.abs(b) + 0.5
    ta, tb = qgrad.from_numpy(a), qgrad.from_numpy(b)
    close = lambda t, ref: np.testing.assert_allclose(t.numpy(), ref, rtol=1e-5, atol=1e-6)
    close(ta + tb, a + b)
    close(ta - tb, a - b)
    close(ta * tb, a * b)
    close(ta / tb, a / b)
    close(2 - ta, 2 - a)
    close(3 / tb, 3 / b)
    close(tb ** 2, b ** 2)
    close(-ta, -a)
    close(ta @ qgrad.from_numpy(a.T.copy()), a @ a.T)
    close((ta > 0).to(qgrad.float32), (a > 0).astype(np.float32))
    close(ta.sum(1), a.sum(1))
    close(ta.mean(), a.mean())
    close(ta.max(0), a.max(0))
    close(ta.var(1), a.var(1, ddof=1))
    np.testing.assert_array_equal(ta.argmax(1).numpy(), a.argmax(1))
    e = np.exp(a - a.max(1, keepdims=True))
    close(ta.softmax(1), e / e.sum(1, keepdims=True))
    close(qgrad.relu(ta), np.maximum(a, 0))
    close(ta.clamp(-0.5, 0.5), np.clip(a, -0.5, 0.5))


def test_dtype_conversion_rounds_half_away_and_saturates():
    t = qgrad.tensor([-300.0, -2.5, -0.5, 0.5, 1.5, 2.5, 300.0])
    assert t.to(qgrad.int8).tolist() == [-128, -3, -1, 1, 2, 3, 127]
    assert t.to(qgrad.uint8).tolist() == [0, 0, 0, 1, 2, 3, 255]


def test_item_and_bool():
    assert qgrad.tensor([3]).item() == 3
    assert isinstance(qgrad.tensor([3]).item(), int)
    assert qgrad.tensor([2.5]).item() == 2.5
    with pytest.raises(qgrad.Error, match="item"):
        qgrad.ones([2]).item()
    with pytest.raises(qgrad.Error, match="ambiguous"):
        bool(qgrad.ones([2]))


def test_factories_and_seed():
    qgrad.manual_seed(5)
    a = qgrad.randn([1000]).numpy().copy()
    qgrad.manual_seed(5)
    b = qgrad.randn([1000]).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean()) < 0.15 and 0.85 < a.std() < 1.15
    u = qgrad.rand([1000]).numpy()
    assert u.min() >= 0 and u.max() < 1
    assert qgrad.zeros([2, 3], qgrad.int8).dtype == qgrad.int8
    assert qgrad.full((2,), 1.5).tolist() == [1.5, 1.5]
    assert qgrad.arange(4).tolist() == [0, 1, 2, 3]
    assert qgrad.arange(1, 2, 0.5).tolist() == [1.0, 1.5]
    qgrad.set_num_threads(2)
    assert qgrad.get_num_threads() == 2


def test_read_only_arrays_are_copied():
    data = np.arange(6, dtype=np.float32).tobytes()
    a = np.frombuffer(data, dtype=np.float32)  # read-only memory
    t = qgrad.from_numpy(a)
    t[0] = 9.0  # writes the copy, never the bytes object
    assert t.tolist()[:2] == [9.0, 1.0] and a[0] == 0.0
