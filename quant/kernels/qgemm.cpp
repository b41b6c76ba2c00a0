// Packing and the checked entry point of the integer GEMM (see qgemm.h for the formula): every
// argument is validated here, once, so the kernels only compute.
#include "quant/kernels/qgemm.h"

#include "core/error.h"

namespace qgrad::quant {

PackedB pack_b(const QGemmKernel& kernel, const int8_t* b, int64_t k, int64_t n, int64_t ldb) {
  check(kernel.supported(), "pack_b", "kernel '", kernel.name, "' is not supported by this CPU");
  check(b != nullptr, "pack_b", "B is null");
  check(k >= 1 && n >= 1, "pack_b", "B must be at least [1, 1], got [", k, ", ", n, "]");
  check(k <= kMaxQGemmDepth, "pack_b", "k = ", k, " exceeds ", kMaxQGemmDepth,
        " (the int32 accumulator could overflow)");
  check(ldb >= n, "pack_b", "ldb = ", ldb, " is smaller than n = ", n);
  PackedB packed;
  packed.kernel = &kernel;
  packed.k = k;
  packed.n = n;
  const int64_t panels = (n + kernel.nr - 1) / kernel.nr;
  const int64_t groups = (k + kernel.kg - 1) / kernel.kg;
  packed.data.resize(static_cast<size_t>(panels * kernel.nr * groups * kernel.group_bytes));
  kernel.pack(b, ldb, k, n, packed.data.data());
  packed.colsum.assign(static_cast<size_t>(n), 0);
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) packed.colsum[static_cast<size_t>(j)] += b[p * ldb + j];
  return packed;
}

PackedB pack_b(const int8_t* b, int64_t k, int64_t n, int64_t ldb) {
  return pack_b(qgemm_kernel(), b, k, n, ldb);
}

PackedB pack_weight(const QGemmKernel& kernel, const int8_t* w, int64_t n, int64_t k) {
  std::vector<int8_t> bt(static_cast<size_t>(k * n));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) bt[static_cast<size_t>(p * n + j)] = w[j * k + p];
  return pack_b(kernel, bt.data(), k, n, n);
}

void check_qgemm_args(const QGemmArgs& args, int64_t k, int64_t n) {
  check(args.m >= 0, "qgemm", "m = ", args.m, " is negative");
  check(args.m == 0 || args.a != nullptr, "qgemm", "A is null");
  check(args.lda >= k, "qgemm", "lda = ", args.lda, " is smaller than k = ", k);
  check(args.a_zero_point >= 0 && args.a_zero_point <= 255, "qgemm", "activation zero point ",
        args.a_zero_point, " is outside [0, 255]");
  check((args.c_s32 != nullptr) != (args.c_u8 != nullptr), "qgemm",
        "set exactly one of c_s32 (int32 output) and c_u8 (requantized output)");
  check(args.ldc >= n, "qgemm", "ldc = ", args.ldc, " is smaller than n = ", n);
  if (args.c_u8) {
    const Requantization* rq = args.requant;
    check(rq != nullptr && rq->multiplier != nullptr && rq->shift != nullptr, "qgemm",
          "uint8 output needs requant with multiplier and shift");
    check(rq->qmin >= 0 && rq->qmin <= rq->qmax && rq->qmax <= 255, "qgemm", "clamp range [",
          rq->qmin, ", ", rq->qmax, "] is not inside [0, 255]");
    check(rq->out_zero_point >= 0 && rq->out_zero_point <= 255, "qgemm", "output zero point ",
          rq->out_zero_point, " is outside [0, 255]");
    const int64_t count = rq->per_channel ? n : 1;
    for (int64_t j = 0; j < count; ++j) {
      check(rq->multiplier[j] >= 0, "qgemm", "multiplier[", j, "] = ", rq->multiplier[j], " is negative");
      check(rq->shift[j] >= kMinRequantShift && rq->shift[j] <= kMaxRequantShift, "qgemm", "shift[", j,
            "] = ", rq->shift[j], " is outside [", kMinRequantShift, ", ", kMaxRequantShift, "]");
    }
  }
}

void qgemm(const QGemmKernel& kernel, const QGemmArgs& args) {
  check(args.b != nullptr && args.b->kernel != nullptr, "qgemm", "B was not packed (use pack_b)");
  const PackedB& b = *args.b;
  check_qgemm_args(args, b.k, b.n);
  check(b.kernel == &kernel, "qgemm", "B was packed for kernel '", b.kernel->name,
        "' but is used with kernel '", kernel.name, "'");
  if (args.m == 0) return;
  kernel.gemm(QGemmCall{args.m, b.n, b.k, args.a, args.lda, args.a_zero_point, b.data.data(),
                        b.colsum.data(), args.bias, args.c_s32, args.c_u8, args.requant, args.ldc});
}

void qgemm(const QGemmArgs& args) {
  check(args.b != nullptr && args.b->kernel != nullptr, "qgemm", "B was not packed (use pack_b)");
  qgemm(*args.b->kernel, args);
}

}  // namespace qgrad::quant
