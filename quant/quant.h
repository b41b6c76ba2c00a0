// quant/: the quantization math — parameters, quantize/dequantize/fake-quantize with the
// straight-through estimator, observers, error metrics and non-linear (codebook, power-of-two)
// quantization. Namespace qgrad::quant.
// The workflow headers are included one by one where they are used: qconfig.h (what to quantize
// and how to sample calibration data), prepare.h (observers / QAT fake-quant inserted),
// convert.h + int_modules.h + int_residual.h (the integer-only model), int_model_file.h (saving it), dynamic.h
// (dynamic quantization), kernels/qgemm.h (the integer GEMM).
#pragma once
#include "quant/math/metrics.h"
#include "quant/math/nonlinear.h"
#include "quant/math/observer.h"
#include "quant/math/qparams.h"
#include "quant/math/quantize.h"
