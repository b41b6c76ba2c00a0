// Matrix products on OpenBLAS sgemm.
//   matmul: a [..., M, K] @ b [..., K, N] -> [..., M, N]; leading (batch) axes broadcast.
//           A 1-D a is treated as [1, K] and a 1-D b as [K, 1], the extra axis then dropped.
//           Backward: dA = dC @ B^T,  dB = A^T @ dC  (summed over broadcast batch axes).
//   linear: y = x @ w^T + b with x [N, in], w [out, in], b [out] (nn::Linear's layout); an x
//           of any other rank [..., in] has its leading axes folded into N. One GEMM, bias via beta.
// Transposed operands (views from .t()/.transpose()) are passed to BLAS as transpose flags
// rather than copied.
#pragma once
#include "core/tensor.h"

namespace qgrad {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace qgrad
