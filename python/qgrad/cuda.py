"""qgrad.cuda: whether the optional CUDA backend can run here; bound in python/src/module.cpp."""
from ._qgrad import cuda as _impl
from ._reexport import public_names

globals().update(public_names(_impl))
__all__ = sorted(public_names(_impl))
