"""qgrad.data: see the C++ headers named in each docstring; bound in python/src/data.cpp."""
from ._qgrad import data as _impl
from ._reexport import public_names

globals().update(public_names(_impl))
__all__ = sorted(public_names(_impl))
