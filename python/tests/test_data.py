"""qgrad.data: Dataset from NumPy, the DataLoader's batches, normalization, shuffling and
keep-alive, and real MNIST ($QGRAD_DATA_MIRROR, else data/ from `make data`; skipped without)."""
import gc
import os

import numpy as np
import pytest

import mnist_data
import qgrad
from qgrad import data

RNG = np.random.default_rng(2)


def make_dataset(n=10, shape=(3, 4, 5)):
    images = RNG.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    labels = np.arange(n) % 3
    return images, labels, data.Dataset(images, labels, classes=["a", "b", "c"])


def test_dataset_from_numpy():
    images, labels, ds = make_dataset()
    assert len(ds) == 10 and ds.shape == (3, 4, 5) and ds.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(ds.labels, labels)
    img, label = ds[7]
    assert img.dtype == np.uint8 and label == 1
    np.testing.assert_array_equal(img, images[7])
    np.testing.assert_array_equal(ds[-1][0], images[9])
    with pytest.raises(IndexError):
        ds[10]
    with pytest.raises(IndexError):
        ds[-11]
    sub = ds.evenly_spaced(5)
    assert len(sub) == 5
    np.testing.assert_array_equal(sub[1][0], images[2])
    assert data.Dataset(images, labels).classes == ["0", "1", "2"]
    np.testing.assert_array_equal(data.Dataset(images, labels.tolist()).labels, labels)  # a list works too


def test_dataset_bad_input():
    images, labels, _ = make_dataset()
    with pytest.raises(TypeError):
        data.Dataset(images.astype(np.float32), labels)
    with pytest.raises(ValueError):
        data.Dataset(images[0], labels)
    with pytest.raises(ValueError):
        data.Dataset(images, -labels - 1)
    with pytest.raises(qgrad.Error):
        data.Dataset(images, labels[:5])
    with pytest.raises(qgrad.Error):
        data.Dataset(images, labels, classes=["only"])


def test_loader_batches_and_normalization():
    images, labels, ds = make_dataset(10)
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    loader = data.DataLoader(ds, batch_size=4, mean=mean, std=std)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 3, 4, 5), (4, 3, 4, 5), (2, 3, 4, 5)]
    x, y = batches[1]
    assert x.dtype == qgrad.float32 and y.dtype == qgrad.int32
    ref = (images[4:8] / 255.0 - np.array(mean)[None, :, None, None]) / np.array(std)[None, :, None, None]
    np.testing.assert_allclose(x.numpy(), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y.numpy(), labels[4:8])
    np.testing.assert_array_equal(loader.batch(-1)[1].numpy(), labels[8:])
    assert len(data.DataLoader(ds, batch_size=4, drop_last=True)) == 2
    x0 = data.DataLoader(ds, batch_size=10).batch(0)[0].numpy()
    np.testing.assert_allclose(x0, images / 255.0, rtol=1e-6, atol=1e-6)  # no mean/std: x / 255
    with pytest.raises(IndexError):
        loader.batch(3)
    with pytest.raises(qgrad.Error):
        data.DataLoader(ds, mean=[0.5, 0.5], std=[1, 1])
    with pytest.raises(qgrad.Error):
        data.DataLoader(ds, batch_size=0)


def test_shuffle_is_deterministic_by_seed_and_epoch():
    _, labels, ds = make_dataset(30)

    def order(seed, epoch):
        loader = data.DataLoader(ds, batch_size=8, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return np.concatenate([y.numpy() for _, y in loader]), list(loader.order)

    a, oa = order(1, 0)
    b, ob = order(1, 0)
    np.testing.assert_array_equal(a, b)
    assert oa == ob and sorted(oa) == list(range(30)) and oa != list(range(30))
    np.testing.assert_array_equal(a, labels[oa])
    assert order(1, 1)[1] != oa and order(2, 0)[1] != oa


def test_augmentation_is_repeatable():
    _, _, ds = make_dataset(8)
    loader = data.DataLoader(ds, batch_size=8, crop_padding=2, random_flip=True, seed=3)
    np.testing.assert_array_equal(loader.batch(0)[0].numpy(), loader.batch(0)[0].numpy())


def test_loader_keeps_dataset_alive():
    images, labels, _ = make_dataset(12, shape=(1, 4, 5))
    ds = data.Dataset(images.copy(), labels)
    loader = data.DataLoader(ds, batch_size=5, mean=0.5, std=0.25)
    del ds
    gc.collect()
    _ = [np.zeros(1000) for _ in range(100)]  # churn the allocator
    it = iter(loader)
    del loader
    gc.collect()
    got = np.concatenate([x.numpy() for x, _ in it])
    np.testing.assert_allclose(got, (images / 255.0 - 0.5) / 0.25, rtol=1e-5, atol=1e-5)


def mnist_dir():
    folder = mnist_data.mnist_dir()
    if folder is None:
        pytest.skip(mnist_data.SKIP_REASON)
    return str(folder)


def test_mnist_from_mirror():
    test = data.MNIST(mnist_dir(), train=False)
    assert len(test) == 10000 and test.shape == (1, 28, 28) and len(test.classes) == 10
    img, label = test[0]
    assert img.shape == (1, 28, 28) and label == 7 and img.max() == 255
    loader = data.DataLoader(test, batch_size=64, mean=0.1307, std=0.3081)
    assert len(loader) == 157
    x, y = loader.batch(156)
    assert x.shape == (16, 1, 28, 28) and y.shape == (16,)
    np.testing.assert_array_equal(np.bincount(test.labels, minlength=10),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    with pytest.raises(qgrad.Error):
        data.MNIST(os.path.join(mnist_dir(), "no-such-dir"))
