// quant/math in one include: parameters, quantize/dequantize/fake-quantize with the
// straight-through estimator, observers, error metrics and non-linear (codebook, power-of-two)
// quantization. Namespace qgrad::quant.
// The workflow headers are included one by one where they are used (quant/README.md maps the
// folders): fakequant/qconfig.h (what to quantize, calibration sampling), fakequant/prepare.h
// (observers / QAT fake-quant inserted; fakequant/trace.h for any module tree),
// intmodel/convert.h (the integer-only model), intmodel/int_model_file.h (saving it),
// intmodel/dynamic.h (dynamic quantization), kernels/qgemm.h (the integer GEMM).
#pragma once
#include "quant/math/metrics.h"
#include "quant/math/nonlinear.h"
#include "quant/math/observer.h"
#include "quant/math/qparams.h"
#include "quant/math/quantize.h"
