// Every CudaBackend kernel against CpuBackend (the specification) on random data, with ragged
// and odd sizes, sizes past one grid of blocks, ties and NaNs where the rules matter.
// Tolerances: copies, casts, integer results, argmax indices, selections (max, min, max-pool,
// comparisons, where) and IEEE-exact arithmetic (+ - * /) must match exactly; transcendental
// functions within rtol 1e-5 (CUDA's expf/logf/tanhf/erff/powf are within 2 ulp); sums formed
// in another order (block reductions, cuBLAS) within the rtol/atol stated at each check.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "cuda/cuda_test_util.h"

using namespace qgrad;
using namespace qgrad::cuda_test;

namespace {

Tensor gpu_empty(const Shape& s, DType d = DType::Float32) { return empty(s, d, Device::CUDA); }
const float* dp(const Tensor& t) { return t.device_data<float>(); }
float* dp(Tensor& t) { return t.device_data<float>(); }

}  // namespace

TEST_CASE("cuda compact and scatter copy strided views exactly, for 4- and 1-byte types", "[cuda]") {
  Generator gen(1);
  for (const Shape& shape : {Shape{1}, Shape{7}, Shape{3, 5, 7}, Shape{2, 1, 4, 3}, Shape{5, 33, 3}}) {
    Tensor x = uniform(shape, -100.f, 100.f, gen);
    for (DType dt : {DType::Float32, DType::Int8}) {
      const Tensor xc = x.to(dt), xd = dev(xc);
      std::vector<int64_t> rev(shape.size());
      for (size_t i = 0; i < rev.size(); ++i) rev[i] = static_cast<int64_t>(rev.size() - 1 - i);
      const std::string what = shape_str(shape) + " " + dtype_name(dt);
      require_equal(host(xd.permute(rev).contiguous()).to(DType::Float32),
                    xc.permute(rev).contiguous().to(DType::Float32), "permuted compact " + what);
      require_equal(host(xd.slice(0, 1, shape[0], 2).contiguous()).to(DType::Float32),
                    xc.slice(0, 1, shape[0], 2).contiguous().to(DType::Float32), "stepped slice " + what);
      // scatter: write a transposed source into every other row of a zero tensor
      Tensor dst_c = zeros(shape, dt), dst_d = zeros(shape, dt, Device::CUDA);
      Tensor src = xc.slice(0, 0, shape[0], 2);
      dst_c.slice(0, 0, shape[0], 2).copy_(src);
      dst_d.slice(0, 0, shape[0], 2).copy_(dev(src));
      require_equal(host(dst_d).to(DType::Float32), dst_c.to(DType::Float32), "scatter " + what);
    }
  }
}

TEST_CASE("cuda fill and cast round half away from zero and saturate exactly like the CPU", "[cuda]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> v{0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, 127.5f, 128.f, -128.5f, -129.f,
                             254.5f, 255.5f, 300.f, -300.f, 1e10f, -1e10f, 2147483520.f, nan, inf, -inf,
                             0.f, -0.f, 3.3f, -7.7f};
  const Tensor base = from_vector(v, {static_cast<int64_t>(v.size())});
  const DType types[] = {DType::Float32, DType::Int32, DType::Int8, DType::UInt8};
  for (DType from : types) {
    const Tensor src = base.to(from);  // CPU cast
    for (DType to : types)
      require_equal(host(dev(src).to(to)).to(DType::Float32), src.to(to).to(DType::Float32),
                    std::string("cast ") + dtype_name(from) + " -> " + dtype_name(to));
  }
  for (DType dt : types)
    for (float value : {2.5f, -3.5f, 1e10f, nan})
      require_equal(host(full({3, 37}, value, dt, Device::CUDA)).to(DType::Float32),
                    full({3, 37}, value, dt).to(DType::Float32), std::string("fill ") + dtype_name(dt));
}

TEST_CASE("cuda unary kernels match the CPU within rtol 1e-5", "[cuda]") {
  Generator gen(2);
  const int64_t n = 1037;
  const Tensor any = uniform({n}, -4.f, 4.f, gen), positive = uniform({n}, 0.05f, 4.f, gen);
  struct Case {
    UnaryOp op;
    const char* name;
    bool positive_only;
    float alpha, beta;
  };
  const Case cases[] = {{UnaryOp::Neg, "neg", false, 0, 0},       {UnaryOp::Exp, "exp", false, 0, 0},
                        {UnaryOp::Log, "log", true, 0, 0},        {UnaryOp::Sqrt, "sqrt", true, 0, 0},
                        {UnaryOp::Abs, "abs", false, 0, 0},       {UnaryOp::Sign, "sign", false, 0, 0},
                        {UnaryOp::PowScalar, "pow", true, 1.7f, 0}, {UnaryOp::Clamp, "clamp", false, -1.f, 2.f},
                        {UnaryOp::Relu, "relu", false, 0, 0},     {UnaryOp::LeakyRelu, "leaky_relu", false, 0.1f, 0},
                        {UnaryOp::Sigmoid, "sigmoid", false, 0, 0}, {UnaryOp::Tanh, "tanh", false, 0, 0},
                        {UnaryOp::Gelu, "gelu", false, 0, 0},     {UnaryOp::GeluGrad, "gelu_grad", false, 0, 0}};
  for (const Case& c : cases) {
    const Tensor x = c.positive_only ? positive : any;
    Tensor want = empty({n});
    cpu().unary(c.op, x.data<float>(), want.data<float>(), n, c.alpha, c.beta);
    const Tensor xd = dev(x);
    Tensor got = gpu_empty({n});
    gpu().unary(c.op, dp(xd), dp(got), n, c.alpha, c.beta);
    require_close(host(got), want, 1e-5, 1e-6, c.name);
  }
}

TEST_CASE("cuda binary, scalar and where kernels match the CPU (exactly but for pow)", "[cuda]") {
  Generator gen(3);
  const int64_t n = 2049;
  Tensor a = uniform({n}, -3.f, 3.f, gen), b = uniform({n}, -3.f, 3.f, gen);
  for (int64_t i = 0; i < n; i += 5) b.data<float>()[i] = a.data<float>()[i];  // ties for == >= <=
  const Tensor a_pos = uniform({n}, 0.1f, 3.f, gen);
  const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Maximum,
                          BinaryOp::Minimum, BinaryOp::Eq, BinaryOp::Gt, BinaryOp::Ge, BinaryOp::Lt, BinaryOp::Le};
  for (BinaryOp op : ops) {
    const bool pow = op == BinaryOp::Pow;
    const Tensor lhs = pow ? a_pos : a, ld = dev(lhs), bd = dev(b);
    const double rtol = pow ? 1e-5 : 0.0;
    Tensor want = empty({n}), got = gpu_empty({n});
    cpu().binary(op, lhs.data<float>(), b.data<float>(), want.data<float>(), n);
    gpu().binary(op, dp(ld), dp(bd), dp(got), n);
    require_close(host(got), want, rtol, 0, "binary op " + std::to_string(int(op)));
    cpu().binary_scalar(op, lhs.data<float>(), 1.25f, want.data<float>(), n);
    gpu().binary_scalar(op, dp(ld), 1.25f, dp(got), n);
    require_close(host(got), want, rtol, 0, "binary_scalar op " + std::to_string(int(op)));
  }
  Tensor cond = small_ints({n}, 2, gen);
  Tensor want = empty({n}), got = gpu_empty({n});
  const Tensor cd = dev(cond), ad = dev(a), bd = dev(b);
  cpu().where(cond.data<float>(), a.data<float>(), b.data<float>(), want.data<float>(), n);
  gpu().where(dp(cd), dp(ad), dp(bd), dp(got), n);
  require_equal(host(got), want, "where");
}

TEST_CASE("cuda elementwise kernels cover sizes past one grid of blocks", "[cuda]") {
  Generator gen(4);
  const int64_t n = (int64_t{1} << 25) + 3;  // > 65536 blocks x 256 threads: the grid-stride loop
  const Tensor a = uniform({n}, -1.f, 1.f, gen), b = uniform({n}, -1.f, 1.f, gen);
  Tensor want = empty({n}), got = gpu_empty({n});
  const Tensor ad = dev(a), bd = dev(b);
  cpu().binary(BinaryOp::Mul, a.data<float>(), b.data<float>(), want.data<float>(), n);
  gpu().binary(BinaryOp::Mul, dp(ad), dp(bd), dp(got), n);
  require_equal(host(got), want, "mul over 2^25 + 3 elements");
}

TEST_CASE("cuda reduce matches the CPU: max/min exactly, sums within rtol 1e-6", "[cuda]") {
  Generator gen(5);
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1},  {7, 3},    {5, 63},     {3, 64},
                                                {2, 1000}, {1, 100003}, {1000, 5}, {70000, 9}, {70000, 100}};
  for (auto [outer, inner] : shapes) {
    const std::string what = " [" + std::to_string(outer) + ", " + std::to_string(inner) + "]";
    Tensor x = uniform({outer, inner}, -10.f, 10.f, gen);
    auto run = [&](ReduceOp op) {
      const Tensor xd = dev(x);
      Tensor want = empty({outer}), got = gpu_empty({outer});
      cpu().reduce(op, x.data<float>(), want.data<float>(), outer, inner);
      gpu().reduce(op, dp(xd), dp(got), outer, inner);
      return std::pair{host(got), want};
    };
    if (outer * inner > 3) x.data<float>()[2] = std::numeric_limits<float>::quiet_NaN();  // ignored by max/min
    for (ReduceOp op : {ReduceOp::Max, ReduceOp::Min}) {
      auto [got, want] = run(op);
      require_equal(got, want, (op == ReduceOp::Max ? "max" : "min") + what);
    }
    if (outer * inner > 3) x.data<float>()[2] = 0.5f;  // a NaN sum would prove nothing
    auto [got, want] = run(ReduceOp::Sum);
    require_close(got, want, 1e-6, 1e-5, "sum" + what);
  }
}

TEST_CASE("cuda argmax picks the first maximum exactly like the CPU, ties and NaNs included", "[cuda]") {
  Generator gen(6);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::pair<int64_t, int64_t> shapes[] = {{6, 1}, {9, 7}, {4, 63}, {4, 64}, {3, 1000}, {2, 100000}, {70000, 3}};
  for (auto [outer, inner] : shapes) {
    Tensor x = small_ints({outer, inner}, 5, gen);  // many ties
    float* p = x.data<float>();
    if (outer >= 3 && inner >= 3) {
      p[0] = nan;                                             // row 0: a NaN first wins
      for (int64_t j = 0; j < inner; ++j) p[inner + j] = -inf;  // row 1: nothing above -inf
      p[2 * inner + 1] = nan;                                 // row 2: a later NaN never wins
    }
    Tensor want = empty({outer}, DType::Int32), got = gpu_empty({outer}, DType::Int32);
    const Tensor xd = dev(x);
    cpu().argmax(p, want.data<int32_t>(), outer, inner);
    gpu().argmax(dp(xd), got.device_data<int32_t>(), outer, inner);
    CHECK(host(got).to_vector<int32_t>() == want.to_vector<int32_t>());
  }
}

TEST_CASE("cuda softmax, log_softmax and cross-entropy rows match the CPU within rtol 1e-5", "[cuda]") {
  Generator gen(7);
  const std::pair<int64_t, int64_t> shapes[] = {{5, 10}, {3, 63}, {4, 64}, {2, 1000}, {1, 5000}, {70000, 10}};
  for (auto [outer, inner] : shapes) {
    const std::string what = " [" + std::to_string(outer) + ", " + std::to_string(inner) + "]";
    const Tensor x = uniform({outer, inner}, -15.f, 15.f, gen), dy = uniform({outer, inner}, -1.f, 1.f, gen);
    const Tensor xd = dev(x), dyd = dev(dy);
    for (bool log : {false, true}) {
      Tensor want = empty({outer, inner}), got = gpu_empty({outer, inner});
      cpu().softmax_rows(x.data<float>(), want.data<float>(), outer, inner, log);
      gpu().softmax_rows(dp(xd), dp(got), outer, inner, log);
      require_close(host(got), want, 1e-5, 1e-7, std::string(log ? "log_softmax" : "softmax") + what);
      // backward from the CPU's forward output, so only the backward kernel is compared
      const Tensor yd = dev(want);
      Tensor dx_want = empty({outer, inner}), dx_got = gpu_empty({outer, inner});
      cpu().softmax_rows_backward(want.data<float>(), dy.data<float>(), dx_want.data<float>(), outer, inner, log);
      gpu().softmax_rows_backward(dp(yd), dp(dyd), dp(dx_got), outer, inner, log);
      require_close(host(dx_got), dx_want, 1e-4, 1e-6, std::string(log ? "log_softmax" : "softmax") + " backward" + what);
    }
    Tensor t = empty({outer}, DType::Int32);
    for (int64_t o = 0; o < outer; ++o) t.data<int32_t>()[o] = static_cast<int32_t>(gen.below(inner));
    const Tensor td = dev(t);
    Tensor loss = empty({outer}), mx = empty({outer}), ls = empty({outer});
    Tensor loss_d = gpu_empty({outer}), mx_d = gpu_empty({outer}), ls_d = gpu_empty({outer});
    cpu().cross_entropy_rows(x.data<float>(), t.data<int32_t>(), loss.data<float>(), mx.data<float>(),
                             ls.data<float>(), outer, inner);
    gpu().cross_entropy_rows(dp(xd), td.device_data<int32_t>(), dp(loss_d), dp(mx_d), dp(ls_d), outer, inner);
    require_equal(host(mx_d), mx, "cross_entropy row max" + what);
    require_close(host(ls_d), ls, 1e-5, 1e-6, "cross_entropy row log-sum" + what);
    require_close(host(loss_d), loss, 1e-5, 1e-5, "cross_entropy loss" + what);
    const Tensor mxd = dev(mx), lsd = dev(ls);
    Tensor dx_want = empty({outer, inner}), dx_got = gpu_empty({outer, inner});
    cpu().cross_entropy_rows_backward(x.data<float>(), t.data<int32_t>(), mx.data<float>(), ls.data<float>(), 0.37f,
                                      dx_want.data<float>(), outer, inner);
    gpu().cross_entropy_rows_backward(dp(xd), td.device_data<int32_t>(), dp(mxd), dp(lsd), 0.37f, dp(dx_got),
                                      outer, inner);
    require_close(host(dx_got), dx_want, 1e-5, 1e-7, "cross_entropy backward" + what);
  }
}

TEST_CASE("cuda gemm is row-major cblas_sgemm: every transpose, padded strides, beta 0 ignores C", "[cuda]") {
  Generator gen(8);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Size {
    int64_t m, n, k;
  };
  for (Size s : {Size{1, 1, 1}, Size{17, 33, 5}, Size{64, 31, 129}, Size{3, 200, 1}, Size{5, 7, 0}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.f, 1.f, 2.f}) {
          // stored shapes (row-major) and row strides padded by 3
          const int64_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k, lda = a_cols + 3;
          const int64_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n, ldb = b_cols + 3;
          const int64_t ldc = s.n + 2;
          const Tensor a = uniform({std::max<int64_t>(a_rows * lda, 1)}, -1.f, 1.f, gen);
          const Tensor b = uniform({std::max<int64_t>(b_rows * ldb, 1)}, -1.f, 1.f, gen);
          Tensor c = beta == 0.f ? full({s.m * ldc}, nan) : uniform({s.m * ldc}, -1.f, 1.f, gen);
          Tensor cd = dev(c);
          const Tensor ad = dev(a), bd = dev(b);
          cpu().gemm(ta, tb, s.m, s.n, s.k, 0.75f, a.data<float>(), lda, b.data<float>(), ldb, beta, c.data<float>(), ldc);
          gpu().gemm(ta, tb, s.m, s.n, s.k, 0.75f, dp(ad), lda, dp(bd), ldb, beta, dp(cd), ldc);
          // compare only the [m, n] block (the padding columns stay as they were on both)
          const Tensor got = host(cd).view({s.m, ldc}).slice(1, 0, s.n), want = c.view({s.m, ldc}).slice(1, 0, s.n);
          require_close(got.contiguous(), want.contiguous(), 1e-4, 1e-5 * static_cast<double>(s.k + 1),
                        "gemm m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
                            " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " beta=" + std::to_string(beta));
        }
  }
}

namespace {

Window2d window(int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t stride, int64_t padding,
                int64_t dilation) {
  Window2d win;
  win.planes = planes;
  win.height = h;
  win.width = w;
  win.kernel_h = kh;
  win.kernel_w = kw;
  win.stride = stride;
  win.padding = padding;
  win.dilation = dilation;
  win.out_h = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1;
  win.out_w = (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1;
  return win;
}

}  // namespace

TEST_CASE("cuda im2col and col2im match the CPU exactly (col2im accumulates)", "[cuda]") {
  Generator gen(9);
  for (const Window2d& w : {window(3, 7, 9, 3, 3, 1, 1, 1), window(2, 8, 5, 2, 3, 2, 0, 1),
                            window(1, 11, 10, 3, 3, 3, 2, 2), window(4, 5, 5, 5, 5, 1, 2, 1),
                            window(1, 1, 1, 1, 1, 1, 0, 1), window(2, 6, 13, 1, 4, 2, 1, 3)})
    for (int64_t images : {1, 3}) {  // 3: the images' columns side by side
      const std::string what = "window " + std::to_string(w.height) + "x" + std::to_string(w.width) + " k" +
                               std::to_string(w.kernel_h) + "x" + std::to_string(w.kernel_w) + " s" +
                               std::to_string(w.stride) + " p" + std::to_string(w.padding) + " d" +
                               std::to_string(w.dilation) + ", " + std::to_string(images) + " images";
      const int64_t image = images * w.planes * w.height * w.width;
      const int64_t cols_n = w.planes * w.kernel_h * w.kernel_w * images * w.out_h * w.out_w;
      const Tensor x = uniform({image}, -2.f, 2.f, gen), xd = dev(x);
      Tensor cols = empty({cols_n}), cols_d = gpu_empty({cols_n});
      cpu().im2col(x.data<float>(), images, w, cols.data<float>());
      gpu().im2col(dp(xd), images, w, dp(cols_d));
      require_equal(host(cols_d), cols, "im2col " + what);
      const Tensor dcols = uniform({cols_n}, -1.f, 1.f, gen), dcols_d = dev(dcols);
      Tensor acc = uniform({image}, -1.f, 1.f, gen), acc_d = dev(acc);  // col2im adds onto these
      cpu().col2im(dcols.data<float>(), images, w, acc.data<float>());
      gpu().col2im(dp(dcols_d), images, w, dp(acc_d));
      require_equal(host(acc_d), acc, "col2im " + what);
    }
}

TEST_CASE("cuda pooling matches the CPU: max (values, argmax, backward) exactly, average within 1e-6", "[cuda]") {
  Generator gen(10);
  for (const Window2d& w : {window(6, 9, 7, 3, 3, 2, 1, 1), window(2, 8, 8, 2, 2, 2, 0, 1),
                            window(3, 5, 6, 3, 3, 1, 1, 1), window(1, 4, 4, 4, 4, 1, 2, 1),
                            window(70000, 2, 2, 2, 2, 2, 0, 1)}) {
    const std::string what = "pool planes " + std::to_string(w.planes) + " " + std::to_string(w.height) + "x" +
                             std::to_string(w.width) + " k" + std::to_string(w.kernel_h) + " s" +
                             std::to_string(w.stride) + " p" + std::to_string(w.padding);
    const int64_t in_n = w.planes * w.height * w.width, out_n = w.planes * w.out_h * w.out_w;
    const Tensor x = small_ints({in_n}, 4, gen), xd = dev(x);  // ties: the first maximum must win
    Tensor y = empty({out_n}), arg = empty({out_n}, DType::Int32);
    Tensor y_d = gpu_empty({out_n}), arg_d = gpu_empty({out_n}, DType::Int32);
    cpu().max_pool2d_forward(x.data<float>(), w, y.data<float>(), arg.data<int32_t>());
    gpu().max_pool2d_forward(dp(xd), w, dp(y_d), arg_d.device_data<int32_t>());
    require_equal(host(y_d), y, "max_pool forward " + what);
    CHECK(host(arg_d).to_vector<int32_t>() == arg.to_vector<int32_t>());
    const Tensor dy = uniform({out_n}, -1.f, 1.f, gen), dyd = dev(dy);
    Tensor dx = empty({in_n}), dx_d = gpu_empty({in_n});
    cpu().max_pool2d_backward(dy.data<float>(), arg.data<int32_t>(), w, dx.data<float>());
    gpu().max_pool2d_backward(dp(dyd), arg_d.device_data<int32_t>(), w, dp(dx_d));
    require_equal(host(dx_d), dx, "max_pool backward " + what);
    cpu().avg_pool2d_forward(x.data<float>(), w, y.data<float>());
    gpu().avg_pool2d_forward(dp(xd), w, dp(y_d));
    require_equal(host(y_d), y, "avg_pool forward " + what);
    cpu().avg_pool2d_backward(dy.data<float>(), w, dx.data<float>());
    gpu().avg_pool2d_backward(dp(dyd), w, dp(dx_d));
    require_close(host(dx_d), dx, 1e-6, 1e-7, "avg_pool backward " + what);  // nvcc may fuse dy * inv + acc
  }
}
