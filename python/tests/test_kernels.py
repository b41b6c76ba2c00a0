"""qgrad.kernels: every int8 GEMM kernel this CPU runs equals a NumPy int32 reference exactly."""
import numpy as np
import pytest

import qgrad
from qgrad import kernels


def reference(a, za, b, bias=None):
    acc = (a.astype(np.int64) - za) @ b.astype(np.int64)
    if bias is not None:
        acc = acc + bias
    return acc.astype(np.int32)


def test_registry():
    names = kernels.available()
    assert names and names[0] == "ref"  # the scalar specification, always runnable
    every = kernels.all_kernels()
    assert every[0]["name"] == "ref" and every[0]["supported"]
    assert [k["name"] for k in every if k["supported"]] == names
    assert all(k["nr"] >= 1 and k["kg"] >= 1 for k in every)
    assert kernels.selected() in names
    assert kernels.find_kernel("ref")["name"] == "ref"
    assert kernels.select_kernel("") in names and kernels.select_kernel("ref") == "ref"


# shapes with ragged edges: m, n, k not multiples of any tile (nr 8/16, kg 4/8), k up to ~300
SHAPES = [(1, 1, 1), (3, 5, 7), (17, 9, 33), (31, 23, 65), (8, 16, 64), (45, 19, 301), (2, 70, 129)]


@pytest.mark.parametrize("name", kernels.available())
def test_every_kernel_equals_numpy(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    for m, n, k in SHAPES:
        a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
        b = rng.integers(-127, 128, size=(k, n), dtype=np.int8)
        za = int(rng.integers(0, 256))
        bias = rng.integers(-50000, 50000, size=n, dtype=np.int32)
        got = kernels.qgemm(a, za, b, bias, kernel=name)
        assert got.dtype == np.int32 and got.shape == (m, n)
        np.testing.assert_array_equal(got, reference(a, za, b, bias))
        np.testing.assert_array_equal(kernels.qgemm(a, za, b, kernel=name), reference(a, za, b))
    # extreme values: the largest products in every position
    a = np.full((5, 300), 255, np.uint8)
    b = np.full((300, 7), -127, np.int8)
    np.testing.assert_array_equal(kernels.qgemm(a, 0, b, kernel=name), reference(a, 0, b))


def test_packed_b_reused_and_auto():
    rng = np.random.default_rng(1)
    b = rng.integers(-127, 128, size=(37, 11), dtype=np.int8)
    packed = kernels.pack_b(b)
    assert packed.kernel == kernels.selected() and (packed.k, packed.n) == (37, 11)
    assert packed.colsum == b.astype(np.int64).sum(axis=0).tolist()
    for m in (1, 6, 13):
        a = rng.integers(0, 256, size=(m, 37), dtype=np.uint8)
        np.testing.assert_array_equal(kernels.qgemm(a, 128, packed), reference(a, 128, b))
    # a non-contiguous A is accepted (copied)
    a = rng.integers(0, 256, size=(37, 9), dtype=np.uint8).T
    np.testing.assert_array_equal(kernels.qgemm(a, 3, b), reference(a, 3, b))


def test_errors():
    a = np.ones((2, 3), np.uint8)
    b = np.ones((3, 4), np.int8)
    with pytest.raises(qgrad.Error, match="unknown qgemm kernel"):
        kernels.qgemm(a, 0, b, kernel="no_such_kernel")
    with pytest.raises(qgrad.Error):
        kernels.find_kernel("no_such_kernel")
    with pytest.raises(qgrad.Error, match="unknown qgemm kernel"):
        kernels.select_kernel("no_such_kernel")
    with pytest.raises(TypeError, match="uint8"):
        kernels.qgemm(a.astype(np.float32), 0, b)
    with pytest.raises(TypeError, match="int8"):
        kernels.qgemm(a, 0, b.astype(np.int32))
    with pytest.raises(ValueError):
        kernels.qgemm(np.ones((2, 5), np.uint8), 0, b)  # k mismatch
    with pytest.raises(ValueError):
        kernels.qgemm(a, 0, b, np.ones(3, np.int32))  # bias length
    with pytest.raises(qgrad.Error, match="zero point"):
        kernels.qgemm(a, 300, b)
    unsupported = [k["name"] for k in kernels.all_kernels() if not k["supported"]]
    for name in unsupported:
        with pytest.raises(qgrad.Error, match="not supported"):
            kernels.qgemm(a, 0, b, kernel=name)


def test_qgemm_from_threads():
    # qgemm releases the GIL; calls from several Python threads each get their own right answer
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(2)
    jobs = [(rng.integers(0, 256, size=(40, 150), dtype=np.uint8), int(rng.integers(0, 256)),
             rng.integers(-127, 128, size=(150, 33), dtype=np.int8)) for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: kernels.qgemm(*j), jobs))
    for (a, za, b), got in zip(jobs, results):
        np.testing.assert_array_equal(got, reference(a, za, b))


def test_quantize_multiplier_splits_real_multipliers():
    for real in [0.5, 0.75, 1e-3, 0.3333333333333333, 1.0, 3.7, 2.0 ** -20]:
        m0, shift = qgrad.kernels.quantize_multiplier(real)
        assert 2 ** 30 <= m0 < 2 ** 31
        assert abs(m0 * 2.0 ** -(31 + shift) - real) <= real * 2.0 ** -30
    assert qgrad.kernels.quantize_multiplier(1e-11) == (0, 0)
