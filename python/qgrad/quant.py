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
from . import _qgrad
from ._qgrad import quant as _impl
from ._reexport import public_names

globals().update(public_names(_impl))


def calibrate(model, batches):
    """Runs each batch (a Tensor or an array) through model in eval mode without a graph, so its
    observers record their ranges; the model's train/eval mode is restored afterwards. Returns
    the number of batches run. (examples/common/quantization.cpp calibrate(), over your batches.)"""
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


__all__ = sorted(public_names(_impl)) + ["calibrate", "freeze"]
