// matmul and linear on Backend::gemm.
//   M, K, N: rows of A, the contracted size, columns of B;  batch: the broadcast leading axes.
// Every operand reaches BLAS without a copy when its last two axes are a row-major matrix or
// the transpose of one (a .t() view): the transpose becomes a BLAS flag and the row stride
// becomes the leading dimension. Only irregular strides (a slice with step, a broadcast row)
// are compacted first. Batch axes are walked by stride, so broadcasting copies nothing either.
#include "core/ops/matmul.h"

#include <algorithm>

#include "core/ops/blas_layout.h"
#include "core/ops/op_support.h"
#include "core/ops/reduce.h"

namespace qgrad {

namespace {

using Grads = std::vector<Tensor>;
using detail::BlasLayout;
using detail::blas_layout;

// A matmul operand as the GEMM loop sees it: its matrix layout and, per batch axis of the
// broadcast batch shape, the stride to the next matrix (0 on broadcast axes).
struct Operand {
  Tensor values;  // graph-free; a compacted copy only when the strides were irregular
  BlasLayout layout;
  Shape batch_strides;
  const float* data() const { return values.device_data<float>(); }
};

Operand prepare(const Tensor& x, const Shape& batch) {
  Tensor v = x.detach();
  const int64_t nd = v.dim();
  auto layout = blas_layout(v.shape()[nd - 2], v.shape()[nd - 1], v.strides()[nd - 2], v.strides()[nd - 1]);
  if (!layout) {
    v = v.contiguous();
    layout = blas_layout(v.shape()[nd - 2], v.shape()[nd - 1], v.strides()[nd - 2], v.strides()[nd - 1]);
  }
  Shape full = batch;
  full.push_back(v.shape()[nd - 2]);
  full.push_back(v.shape()[nd - 1]);
  Shape batch_strides = v.expand(full).strides();
  batch_strides.resize(batch.size());
  return {v, *layout, batch_strides};
}

// True when the batch of `rows`-row matrices is one tall matrix with the same leading
// dimension, so the whole batch is a single GEMM.
bool folds_into_rows(const Operand& op, const Shape& batch, int64_t rows) {
  if (op.layout.trans) return false;
  int64_t expected = op.layout.ld * rows;
  for (int64_t i = static_cast<int64_t>(batch.size()) - 1; i >= 0; --i) {
    if (batch[i] != 1 && op.batch_strides[i] != expected) return false;
    expected *= batch[i];
  }
  return true;
}

// Batch shape of a [..., M, K] @ b [..., K, N], naming both full shapes when they clash.
Shape matmul_batch(const Shape& a, const Shape& b) {
  Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  const size_t nd = std::max(ba.size(), bb.size());
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    int64_t x = i < nd - ba.size() ? 1 : ba[i - (nd - ba.size())];
    int64_t y = i < nd - bb.size() ? 1 : bb[i - (nd - bb.size())];
    check(x == y || x == 1 || y == 1, "matmul", "batch axes of shapes ", shape_str(a), " and ",
          shape_str(b), " cannot be broadcast (", x, " vs ", y, ")");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

// a [..., M, K] @ b [..., K, N] with a, b at least 2-D and K checked; no graph.
Tensor matmul_forward(const Tensor& a, const Tensor& b) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const Shape batch = matmul_batch(a.shape(), b.shape());
  Operand A = prepare(a, batch), B = prepare(b, batch);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = detail::empty_on(a, out_shape);
  float* c = out.device_data<float>();
  Backend& be = detail::backend_of(a);
  const int64_t count = numel(batch);
  const bool b_shared = std::all_of(B.batch_strides.begin(), B.batch_strides.end(), [](int64_t s) { return s == 0; });
  if (count == 1 || (b_shared && folds_into_rows(A, batch, m))) {
    be.gemm(A.layout.trans, B.layout.trans, count * m, n, k, 1.f, A.data(), A.layout.ld, B.data(),
            B.layout.ld, 0.f, c, n);
    return out;
  }
  // One GEMM per batch entry; the operand offsets advance like an odometer over batch.
  std::vector<int64_t> idx(batch.size(), 0);
  int64_t off_a = 0, off_b = 0;
  for (int64_t e = 0; e < count; ++e) {
    be.gemm(A.layout.trans, B.layout.trans, m, n, k, 1.f, A.data() + off_a, A.layout.ld,
            B.data() + off_b, B.layout.ld, 0.f, c + e * m * n, n);
    for (int64_t ax = static_cast<int64_t>(batch.size()) - 1; ax >= 0; --ax) {
      off_a += A.batch_strides[ax];
      off_b += B.batch_strides[ax];
      if (++idx[ax] < batch[ax]) break;
      off_a -= A.batch_strides[ax] * batch[ax];
      off_b -= B.batch_strides[ax] * batch[ax];
      idx[ax] = 0;
    }
  }
  return out;
}

// The matrix transpose of the last two axes, a view.
Tensor mT(const Tensor& t) { return t.transpose(-1, -2); }

// Both operands at least 2-D.
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  Tensor out = matmul_forward(a, b);
  return record(out, "matmul", {a, b},
                [a = a.detach(), b = b.detach(), need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor& g) {
                  Tensor ga, gb;
                  if (need_a) ga = sum_to(matmul(g, mT(b)), a.shape());
                  if (need_b && b.dim() == 2) {
                    // A shared B: fold the batch into the rows, one GEMM [K, batch M] @ [batch M, N].
                    gb = matmul(a.reshape({-1, a.size(-1)}).t(), g.reshape({-1, g.size(-1)}));
                  } else if (need_b) {
                    gb = sum_to(matmul(mT(a), g), b.shape());
                  }
                  return Grads{ga, gb};
                });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::require_float(a, "matmul");
  detail::require_float(b, "matmul");
  check(a.dim() >= 1 && b.dim() >= 1, "matmul", "needs operands with at least one axis, got shapes ",
        shape_str(a.shape()), " and ", shape_str(b.shape()));
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  detail::require_same_device(a, b, "matmul");
  check(ka == kb, "matmul", "cannot multiply shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
        ": inner sizes ", ka, " and ", kb, " differ");
  // 1-D operands become a row (a) or a column (b) matrix; the added axis is dropped again.
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  return matmul_nd(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::require_float(x, "linear");
  detail::require_float(weight, "linear");
  check(weight.dim() == 2, "linear", "weight must be 2-D [out, in], got shape ", shape_str(weight.shape()));
  check(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear", "input of shape ", shape_str(x.shape()),
        " does not end in the weight's in-features ", weight.size(1), " (weight shape ",
        shape_str(weight.shape()), ")");
  detail::require_same_device(x, weight, "linear");
  const int64_t in = weight.size(1), out_f = weight.size(0);
  if (bias.defined()) {
    detail::require_float(bias, "linear");
    detail::require_same_device(x, bias, "linear");
    check(bias.dim() == 1 && bias.size(0) == out_f, "linear", "bias must have shape [", out_f,
          "] to match weight ", shape_str(weight.shape()), ", got ", shape_str(bias.shape()));
  }
  if (x.dim() != 2) {  // x [..., in]: fold the leading axes into rows and unfold the result
    Shape out_shape(x.shape().begin(), x.shape().end() - 1);
    out_shape.push_back(out_f);
    return linear(x.reshape({-1, in}), weight, bias).reshape(out_shape);
  }
  const int64_t rows = x.size(0);
  Operand X = prepare(x, {}), Wt = prepare(weight.t(), {});
  // The bias enters through GEMM's beta: C starts as the bias rows and beta = 1 adds x w^T.
  Backend& be = detail::backend_of(x);
  Tensor out = detail::empty_on(x, {rows, out_f});
  if (bias.defined())
    be.compact(detail::compact(bias).device_data<float>(), DType::Float32, {rows, out_f}, {0, 1}, 0, out.device_data<float>());
  be.gemm(X.layout.trans, Wt.layout.trans, rows, out_f, in, 1.f, X.data(), X.layout.ld, Wt.data(),
          Wt.layout.ld, bias.defined() ? 1.f : 0.f, out.device_data<float>(), out_f);
  return record(out, "linear", {x, weight, bias},
                [x = x.detach(), w = weight.detach(), need_x = x.requires_grad(), need_w = weight.requires_grad(),
                 need_b = bias.requires_grad()](const Tensor& g) {
                  return Grads{need_x ? matmul(g, w) : Tensor(), need_w ? matmul(g.t(), x) : Tensor(),
                               need_b ? sum(g, {0}) : Tensor()};
                });
}

}  // namespace qgrad
