"""qgrad.optim: see the C++ headers named in each docstring; bound in python/src/optim.cpp."""
from ._qgrad import optim as _impl
from ._reexport import public_names

globals().update(public_names(_impl))
__all__ = sorted(public_names(_impl))
