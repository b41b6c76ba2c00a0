// quant/: the quantization math — parameters, quantize/dequantize/fake-quantize with the
// straight-through estimator, observers, error metrics and non-linear (codebook, power-of-two)
// quantization. Namespace qgrad::quant.
#pragma once
#include "quant/metrics.h"
#include "quant/nonlinear.h"
#include "quant/observer.h"
#include "quant/qparams.h"
#include "quant/quantize.h"
