"""qgrad.quant: quantization, from qparams to the integer-only model; bound in python/src/quant.cpp.

    quant/math        QParams, QScheme, qparams_from_range, quantize, dequantize, fake_quantize,
                      MinMaxObserver, MovingAverageMinMaxObserver, PercentileObserver, MseObserver,
                      mse, sqnr_db, clipped_fraction, kmeans_quantize, power_of_two_quantize,
                      int_codebook, pack_codes / unpack_codes
    quant/fakequant   LayerQConfig, QConfig, default_qconfig, Sampling, calibration_indices,
                      FakeQuantize, set_observe, set_fake_quant, prepare, prepare_qat
    quant/intmodel    convert -> IntModel, save_int_model / read_int_model / load_int_model,
                      report, histogram, InputSpec, normalize_pixels, quantize_dynamic

Post-training quantization in four lines:
    prepared = qgrad.quant.prepare(model)                 # or prepare(model, qconfig, example=x)
    qgrad.quant.calibrate(prepared, batches)              # observe activation ranges
    qgrad.quant.freeze(prepared)                          # observers off, fake quantization on
    int_model = qgrad.quant.convert(prepared)             # int_model(x), int_model.save(path)
"""
import inspect

from . import _qgrad
from ._qgrad import quant as _impl
from ._reexport import public_names

globals().update(public_names(_impl))


def calibrate(model, batches):
    """Runs each batch (a Tensor or an array) through model in eval mode without a graph, so its
    observers record their ranges; the model's train/eval mode is restored afterwards. Returns
    the number of batches run. (examples/common/quantization.cpp calibrate(), over your batches.)
    A prepare_qat model has fake quantization on, so its observers see already-quantized
    inputs; to calibrate it as PTQ would, wrap the call in set_fake_quant(model, False) / True."""
    was_training = model.training
    model.eval()
    n = 0
    try:
        with _qgrad.no_grad():
            for batch in batches:
                model(batch if isinstance(batch, _qgrad.Tensor) else _qgrad.tensor(batch))
                n += 1
    finally:
        model.train(was_training)
    return n


def freeze(model):
    """After calibration: observers off (the ranges stop moving), fake quantization on — the
    model then computes what convert(model) will. Returns model."""
    _impl.set_observe(model, False)
    _impl.set_fake_quant(model, True)
    return model


# --- eager mode: a model's children swapped in place -----------------------------------------
# prepare(model, ..., inplace=True) leaves the model object and its Python forward as they are
# and swaps each direct child that holds a Conv2d or Linear for its prepared twin (the child run
# as a one-piece Sequential: a Sequential child is prepared whole, so its conv-BN-ReLU runs
# fuse); children that are themselves Python modules are walked the same way. convert(model,
# inplace=True) then swaps each prepared child for its integer model, which takes and returns
# float tensors (it quantizes its input and dequantizes its output), so the Python forward runs
# unchanged around integer layers. The qconfig applies to each child under the child's own
# names ("0", "1", ... inside it); without one, each child gets default_qconfig(child).
# This is PyTorch's eager mode; prepare(model, config, example) without inplace traces the
# whole model instead and can requantize across children (one integer model, codes between
# layers), which is what the programs and the saved integer-model files use.
_QUANTIZABLE = ("Conv2d", "Linear")
_EAGER = "_qgrad_eager_children"  # the names a model's children were swapped under


def _has_python_forward(module):
    """A Python subclass of Module (its forward a Python function, not a bound C++ method)."""
    return inspect.isfunction(getattr(type(module), "forward", None))


def _quantizable(module):
    return module.type_name() in _QUANTIZABLE or any(
        m.type_name() in _QUANTIZABLE for _, m in module.named_modules())


def _prepare_in_place(model, qconfig, qat):
    prepare_one = _impl.prepare_qat if qat else _impl.prepare
    swapped = []
    for name, child in model.named_children():
        if not _quantizable(child):
            continue
        if _has_python_forward(child):
            _prepare_in_place(child, qconfig, qat)
            swapped.append(name)
            continue
        seq = child if child.type_name() == "Sequential" else _qgrad.nn.Sequential(child)
        setattr(model, name, prepare_one(seq, qconfig))
        swapped.append(name)
    if not swapped:
        raise _qgrad.Error(f"qgrad::prepare: {model.type_name()} has no child holding a Conv2d or "
                           "Linear to quantize")
    object.__setattr__(model, _EAGER, swapped)
    return model


def _convert_in_place(model):
    names = getattr(model, _EAGER, None)
    if names is None:
        raise _qgrad.Error(f"qgrad::convert: {model.type_name()} was not prepared in place "
                           "(prepare(model, ..., inplace=True))")
    for name in names:
        child = getattr(model, name)
        if _has_python_forward(child):
            _convert_in_place(child)
        else:
            setattr(model, name, _impl.convert(child))
    object.__delattr__(model, _EAGER)
    return model


def prepare(model, qconfig=None, example=None, inplace=False):
    """The fake-quant twin of model, observers on and fake quantization off (calibrate it, then
    convert). Default: a new prepared Sequential (a Sequential needs no example; any other
    module is traced by one forward on example). inplace=True: eager mode, the model's children
    swapped in place (see above) and the model returned."""
    if inplace:
        return _prepare_in_place(model, qconfig, qat=False)
    return _impl.prepare(model, qconfig, example)


def prepare_qat(model, qconfig=None, example=None, inplace=False):
    """As prepare, with observers and fake quantization both on: train it as usual."""
    if inplace:
        return _prepare_in_place(model, qconfig, qat=True)
    return _impl.prepare_qat(model, qconfig, example)


def convert(prepared, inplace=False):
    """A prepared, calibrated (or QAT-trained) Sequential -> IntModel. inplace=True: a model
    prepared in place gets each prepared child swapped for its IntModel, and is returned."""
    if inplace:
        return _convert_in_place(prepared)
    return _impl.convert(prepared)


__all__ = sorted(public_names(_impl)) + ["calibrate", "freeze"]
