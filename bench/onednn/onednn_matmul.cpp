// See onednn_matmul.h.
#include "bench/onednn/onednn_matmul.h"

#include <dnnl.hpp>
#include <string>

namespace qgrad::bench {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct OneDnnMatmul::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul prim;
  memory src, weights, dst, zero_point;
  std::string impl_name;
};

OneDnnMatmul::OneDnnMatmul(int64_t m, int64_t k, int64_t n, const uint8_t* a, const int8_t* b,
                           int32_t a_zero_point)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const memory::desc src_md({m, k}, dt::u8, tag::ab);
  const memory::desc user_weights_md({k, n}, dt::s8, tag::ab);
  const memory::desc weights_md({k, n}, dt::s8, tag::any);  // oneDNN's preferred layout
  const memory::desc dst_md({m, n}, dt::s32, tag::ab);
  // The src zero point is given at run time (one value for the whole tensor, mask 0), the way a
  // quantized layer passes its activations' zero point; oneDNN folds it in as a per-column
  // correction like qgrad's colsum. (A compile-time zero point, or none, measured the same
  // within 2% on 1024x784x256 and 256^3, AVX2, 1 thread.)
  dnnl::primitive_attr attr;
  attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, weights_md, dst_md), attr, s.engine);
  s.impl_name = pd.impl_info_str();
  s.prim = dnnl::matmul(pd);

  s.src = memory(src_md, s.engine, const_cast<uint8_t*>(a));  // read only
  memory user_weights(user_weights_md, s.engine, const_cast<int8_t*>(b));
  s.weights = memory(pd.weights_desc(), s.engine);
  dnnl::reorder(user_weights, s.weights).execute(s.stream, user_weights, s.weights);
  s.dst = memory(pd.dst_desc(), s.engine);
  s.zero_point = memory({{1}, dt::s32, tag::x}, s.engine);
  *static_cast<int32_t*>(s.zero_point.get_data_handle()) = a_zero_point;
  s.stream.wait();
}

OneDnnMatmul::~OneDnnMatmul() = default;

void OneDnnMatmul::run() {
  Impl& s = *impl_;
  s.prim.execute(s.stream, {{DNNL_ARG_SRC, s.src},
                            {DNNL_ARG_WEIGHTS, s.weights},
                            {DNNL_ARG_DST, s.dst},
                            {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, s.zero_point}});
  s.stream.wait();
}

const int32_t* OneDnnMatmul::c() const { return static_cast<const int32_t*>(impl_->dst.get_data_handle()); }

const char* OneDnnMatmul::impl() const { return impl_->impl_name.c_str(); }

const char* onednn_version() {
  static const std::string v = [] {
    const dnnl_version_t* ver = dnnl::version();
    return std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
  }();
  return v.c_str();
}

}  // namespace qgrad::bench
