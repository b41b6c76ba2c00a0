"""Checks for 04_nonlinear_quantization.ipynb (see exercises/__init__.py for the convention)."""
import numpy as np

from . import RIGHT, WRONG, run_answer, verdict


def _cases():
    rng = np.random.default_rng(4)
    plain = rng.normal(0, 0.05, size=(30, 40)).astype(np.float32)
    # two far outliers leave the middle of the linear grid without weights: empty clusters
    gappy = np.concatenate([rng.normal(0, 0.02, size=500), [0.9, -0.5]]).astype(np.float32)
    return [(plain, 3), (gappy, 3), (gappy.reshape(2, 251), 2)]


def check_lloyd_step(fn):
    """fn(w, centroids) -> the centroids after one Lloyd iteration; compared with
    qgrad.quant.kmeans_quantize(w, bits, max_iterations=1), which starts from the linear grid."""
    from qgrad import quant

    for w, bits in _cases():
        k = 2 ** bits
        init = np.linspace(float(w.min()), float(w.max()), k)
        w_before, init_before = w.copy(), init.copy()
        got, failed = run_answer(fn, w, init)
        if failed:
            return failed
        got = np.asarray(got, dtype=np.float64).ravel()
        if got.shape != (k,):
            return verdict(WRONG, f"with {k} centroids you returned {got.size} values")
        if not (np.array_equal(w, w_before) and np.array_equal(init, init_before)):
            return verdict(WRONG, "your function changed its inputs; compute new arrays instead")
        want = quant.kmeans_quantize(w, bits=bits, max_iterations=1).centroids.numpy().astype(np.float64)
        tol = 1e-6 * float(w.max() - w.min())
        if not np.all(np.isfinite(got)):
            return verdict(WRONG, "some centroids are NaN or infinite: what happens to a centroid that gets "
                                  "no weights?")
        bad = np.abs(np.sort(got) - want) > tol
        if bad.any():
            j = int(np.argmax(bad))
            return verdict(WRONG, f"for {w.size} weights and {k} centroids, centroid {j} is {np.sort(got)[j]:.6f} "
                                  f"but one Lloyd iteration gives {want[j]:.6f}")
    return verdict(RIGHT, "one Lloyd iteration agrees with qgrad's kmeans_quantize(max_iterations=1), "
                          "empty clusters included")
