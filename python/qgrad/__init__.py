"""qgrad: an educational deep learning framework whose heart is quantization.

The Python package is a thin front end over the C++ library (the extension module
qgrad._qgrad): every number is computed in C++. Areas:
    qgrad          Tensor, dtypes, ops, autograd (no_grad, manual_seed), NumPy interop
    qgrad.nn       Module (subclass it), layers, losses, initializers, checkpoints, the model zoo
    qgrad.optim    SGD, Adam, AdamW and learning-rate schedules
    qgrad.data     MNIST, CIFAR-10, image folders and the DataLoader
    qgrad.quant    qparams, observers, fake quantization, QAT/PTQ, the integer-only model
    qgrad.kernels  the int8 GEMM kernels (timeable from Python)
    qgrad.cuda     whether the optional CUDA backend can run here (Tensor.to("cuda"), Module.to("cuda"))
"""
from . import _qgrad
from ._reexport import public_names

globals().update(public_names(_qgrad))
Error = _qgrad.Error

from . import nn, optim, data, quant, kernels, cuda  # noqa: E402  (after the names above)

__all__ = sorted(public_names(_qgrad)) + ["Error", "nn", "optim", "data", "quant", "kernels", "cuda"]
