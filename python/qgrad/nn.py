"""qgrad.nn: see the C++ headers named in each docstring; bound in python/src/nn.cpp."""
import sys

from ._qgrad import nn as _impl
from ._reexport import public_names

globals().update(public_names(_impl))
# The initializers live in the submodule qgrad.nn.init (as torch.nn.init): an attribute, and
# registered in sys.modules so `import qgrad.nn.init` and `from qgrad.nn import init` both work.
init = _impl.init
sys.modules[__name__ + ".init"] = init
__all__ = sorted(public_names(_impl)) + ["init"]
