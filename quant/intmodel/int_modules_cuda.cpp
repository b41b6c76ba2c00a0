// The integer layers' GPU execution (IntLayer::run_cuda, chosen by IntModel::set_execution_device):
// each layer uploads its uint8 input, runs the CUDA kernels of quant/kernels/cuda/qgemm_cuda.h
// (tensor-core GEMM with the fused requantization, im2col, max-pool) and downloads its output,
// bit for bit what run() computes on the CPU (every kernel equals the CPU reference, see
// tests/cuda). A GEMM layer's weight (in its GEMM column order), bias and multipliers are uploaded
// once, on its first GPU call. Layers without a CUDA path (average pools, flatten, ReLU, the
// residual add, grouped or dilated convs) run their CPU code on the host tensors in between.
// Without the CUDA backend these functions only throw (IntModel refuses Device::CUDA earlier).
#include "core/error.h"
#include "quant/intmodel/int_modules.h"
#if QGRAD_HAVE_CUDA
#include "quant/kernels/cuda/qgemm_cuda.h"
#endif

namespace qgrad::quant {

#if QGRAD_HAVE_CUDA

// What run_cuda keeps on the device for one GEMM layer.
struct IntGemmDevice {
  cuda::DeviceB weight;
  cuda::DeviceRequant requant;
  cuda::DeviceBuffer bias;
};

namespace {
constexpr cuda::Rung kRung = cuda::Rung::TensorCore;

// A contiguous host uint8 tensor's bytes in a fresh device buffer.
cuda::DeviceBuffer upload(const Tensor& x) {
  cuda::DeviceBuffer d(static_cast<size_t>(x.numel()));
  d.upload(x.data<uint8_t>(), static_cast<size_t>(x.numel()));
  return d;
}
}  // namespace

void IntGemm::run_cuda(const uint8_t* a, int64_t m, uint8_t* c) const {
  check(weight.n > 0, "IntGemm", "run_cuda needs a packed weight");
  std::call_once(device_once_, [this] {
    const int64_t out = params.qweight.size(0), k = params.qweight.size(1);
    device_ = std::make_shared<const IntGemmDevice>(IntGemmDevice{
        cuda::DeviceB::from_weight(gemm_weight().data(), out, k), cuda::DeviceRequant(requant, out),
        cuda::to_device(params.bias)});
  });
  cuda::CudaQGemmArgs args;
  args.m = m;
  args.a = a;
  args.lda = weight.k;
  args.a_zero_point = params.in_zero_point;
  args.b = &device_->weight;
  args.bias = device_->bias.as<int32_t>();
  args.c_u8 = c;
  args.requant = &device_->requant;
  args.ldc = weight.n;
  cuda::qgemm_cuda(kRung, args);
}

Tensor QuantizedLinear::run_cuda(const Tensor& q) const {
  check(q.dim() == 2 && q.size(1) == gemm_.weight.k && q.dtype() == DType::UInt8, "QuantizedLinear",
        "expects uint8 [N, ", gemm_.weight.k, "], got ", shape_str(q.shape()));
  const Tensor a = q.contiguous();
  Tensor out = empty({q.size(0), gemm_.weight.n}, DType::UInt8);
  if (q.size(0) == 0) return out;
  const cuda::DeviceBuffer da = upload(a);
  cuda::DeviceBuffer dc(static_cast<size_t>(out.numel()));
  gemm_.run_cuda(da.as<uint8_t>(), q.size(0), dc.as<uint8_t>());
  dc.download(out.data<uint8_t>(), static_cast<size_t>(out.numel()));
  return out;
}

Tensor QuantizedConv2d::run_cuda(const Tensor& q) const {
  if (direct()) return run(q);
  const DirectConvShape d = geometry(q);
  const Tensor x = q.contiguous();
  Tensor out = empty({d.batch, d.out_h(), d.out_w(), shape_.out}, DType::UInt8);
  if (out.numel() == 0) return out;
  const Im2colShape s = im2col_shape(d.height, d.width);
  const int64_t m = d.batch * s.rows();
  const cuda::DeviceBuffer dx = upload(x);
  cuda::DeviceBuffer dc(static_cast<size_t>(out.numel()));
  if (s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.pad_h == 0) {  // 1x1: the pixels are A
    gemm_.run_cuda(dx.as<uint8_t>(), m, dc.as<uint8_t>());
  } else {
    cuda::DeviceBuffer da(static_cast<size_t>(m * s.cols()));
    cuda::im2col_u8_cuda(dx.as<uint8_t>(), d.batch, s, static_cast<uint8_t>(gemm_.params.in_zero_point),
                         da.as<uint8_t>());
    gemm_.run_cuda(da.as<uint8_t>(), m, dc.as<uint8_t>());
  }
  dc.download(out.data<uint8_t>(), static_cast<size_t>(out.numel()));
  return out;
}

Tensor IntMaxPool2d::run_cuda(const Tensor& q) const {
  const MaxPoolShape s = checked_shape(q);
  const Tensor x = q.contiguous();
  Tensor out = empty({s.batch, s.out_h(), s.out_w(), s.channels}, DType::UInt8);
  if (out.numel() == 0) return out;
  const cuda::DeviceBuffer dx = upload(x);
  cuda::DeviceBuffer dy(static_cast<size_t>(out.numel()));
  cuda::max_pool2d_u8_cuda(dx.as<uint8_t>(), s, dy.as<uint8_t>());
  dy.download(out.data<uint8_t>(), static_cast<size_t>(out.numel()));
  return out;
}

#else  // no CUDA backend in this build

namespace {
[[noreturn]] void no_cuda(const char* layer) {
  fail(layer, "this build has no CUDA backend (configure with -DQGRAD_CUDA=ON)");
}
}  // namespace

void IntGemm::run_cuda(const uint8_t*, int64_t, uint8_t*) const { no_cuda("IntGemm"); }
Tensor QuantizedLinear::run_cuda(const Tensor&) const { no_cuda("QuantizedLinear"); }
Tensor QuantizedConv2d::run_cuda(const Tensor&) const { no_cuda("QuantizedConv2d"); }
Tensor IntMaxPool2d::run_cuda(const Tensor&) const { no_cuda("IntMaxPool2d"); }

#endif

}  // namespace qgrad::quant
