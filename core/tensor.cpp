#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "core/autograd.h"
#include "core/backend/backend.h"
#include "core/backend/cuda_backend.h"
#include "core/ops/elementwise.h"

namespace qgrad {

namespace detail {
void dtype_mismatch(const char* op, DType want, DType have) {
  fail(op, "tensor has dtype ", dtype_name(have), " but ", dtype_name(want), " was requested");
}
void not_on_host(const char* op, Device device) {
  fail(op, "is not supported on ", device_name(device), " tensors (it gives host access); ",
       "copy the tensor with .to(Device::CPU) first");
}
}  // namespace detail

namespace {

std::shared_ptr<TensorImpl> make_impl(std::shared_ptr<Storage> storage, Shape shape, Shape strides,
                                      int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return impl;
}

// A view of `src` with new geometry on the same storage, recorded for autograd.
Tensor make_view(const Tensor& src, Shape shape, Shape strides, int64_t offset, const char* name,
                 BackwardFn backward) {
  Tensor out(make_impl(src.storage(), std::move(shape), std::move(strides), offset, src.dtype()));
  return record(out, name, {src}, std::move(backward));
}

// Resolves one -1 in a requested shape against the element count.
Shape infer_shape(Shape shape, int64_t n, const Shape& from, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      check(infer < 0, op, "only one size may be -1, got ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      check(shape[i] >= 0, op, "invalid size ", shape[i], " in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    check(known != 0 && n % known == 0, op, "cannot reshape ", shape_str(from), " (", n,
          " elements) into ", shape_str(shape));
    shape[infer] = n / known;
  }
  check(numel(shape) == n, op, "cannot reshape ", shape_str(from), " (", n, " elements) into ",
        shape_str(shape), " (", numel(shape), " elements)");
  return shape;
}

}  // namespace

// --- metadata ---------------------------------------------------------------------------------

void Tensor::require_defined(const char* op) const {
  check(impl_ != nullptr, op, "the tensor is undefined (default-constructed)");
}

const Shape& Tensor::shape() const { require_defined("shape"); return impl_->shape; }
const Shape& Tensor::strides() const { require_defined("strides"); return impl_->strides; }
int64_t Tensor::offset() const { require_defined("offset"); return impl_->offset; }
DType Tensor::dtype() const { require_defined("dtype"); return impl_->dtype; }
Device Tensor::device() const { require_defined("device"); return impl_->storage->device(); }
void* Tensor::raw_data() const {
  require_defined("raw_data");
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
}
const std::shared_ptr<Storage>& Tensor::storage() const { require_defined("storage"); return impl_->storage; }

int64_t Tensor::size(int64_t axis) const { return shape()[normalize_axis(axis, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (impl_->shape[i] != 1 && impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

int64_t Tensor::element_index(std::initializer_list<int64_t> index, const char* op) const {
  require_defined(op);
  check(static_cast<int64_t>(index.size()) == dim(), op, "got ", index.size(),
        " indices for a tensor of shape ", shape_str(shape()));
  int64_t pos = impl_->offset, axis = 0;
  for (int64_t i : index) {
    check(i >= 0 && i < impl_->shape[axis], op, "index ", i, " is out of range for axis ", axis,
          " of size ", impl_->shape[axis], " (shape ", shape_str(shape()), ")");
    pos += i * impl_->strides[axis++];
  }
  return pos;
}

float Tensor::item() const {
  require_defined("item");
  check(numel() == 1, "item", "needs a tensor with one element, got shape ", shape_str(shape()));
  check(dtype() == DType::Float32, "item", "needs float32, got ", dtype_name(dtype()));
  if (device() != Device::CPU) {
    float v = 0.f;
    cuda_copy(&v, Device::CPU, raw_data(), device(), sizeof v);
    return v;
  }
  return static_cast<const float*>(impl_->storage->data())[impl_->offset];
}

// --- views ------------------------------------------------------------------------------------

Tensor Tensor::view(Shape new_shape) const {
  require_defined("view");
  check(is_contiguous(), "view", "tensor of shape ", shape_str(shape()),
        " is not contiguous; use reshape() (which copies) or contiguous() first");
  Shape from = shape();
  new_shape = infer_shape(std::move(new_shape), numel(), from, "view");
  Shape strides = contiguous_strides(new_shape);
  return make_view(*this, std::move(new_shape), std::move(strides), offset(), "view",
                   [from](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
}

Tensor Tensor::reshape(Shape new_shape) const {
  require_defined("reshape");
  return is_contiguous() ? view(std::move(new_shape)) : contiguous().view(std::move(new_shape));
}

Tensor Tensor::flatten(int64_t start_axis, int64_t end_axis) const {
  if (dim() == 0) return reshape({1});
  int64_t s = normalize_axis(start_axis, dim(), "flatten");
  int64_t e = normalize_axis(end_axis, dim(), "flatten");
  check(s <= e, "flatten", "start axis ", start_axis, " comes after end axis ", end_axis);
  Shape out(shape().begin(), shape().begin() + s);
  int64_t merged = 1;
  for (int64_t i = s; i <= e; ++i) merged *= shape()[i];
  out.push_back(merged);
  out.insert(out.end(), shape().begin() + e + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::permute(const std::vector<int64_t>& axes) const {
  require_defined("permute");
  check(static_cast<int64_t>(axes.size()) == dim(), "permute", "got ", axes.size(),
        " axes for a tensor of shape ", shape_str(shape()));
  std::vector<int64_t> inverse(axes.size(), -1);
  Shape s(axes.size()), st(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = normalize_axis(axes[i], dim(), "permute");
    check(inverse[a] < 0, "permute", "axis ", axes[i], " is repeated");
    inverse[a] = static_cast<int64_t>(i);
    s[i] = shape()[a];
    st[i] = strides()[a];
  }
  return make_view(*this, std::move(s), std::move(st), offset(), "permute",
                   [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t axis0, int64_t axis1) const {
  require_defined("transpose");
  int64_t a = normalize_axis(axis0, dim(), "transpose");
  int64_t b = normalize_axis(axis1, dim(), "transpose");
  std::vector<int64_t> axes(dim());
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[a], axes[b]);
  return permute(axes);
}

Tensor Tensor::t() const {
  check(dim() == 2, "t", "expects a 2-D tensor, got shape ", shape_str(shape()));
  return transpose(0, 1);
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t stop, int64_t step) const {
  require_defined("slice");
  int64_t a = normalize_axis(axis, dim(), "slice");
  check(step >= 1, "slice", "step must be >= 1, got ", step);
  const int64_t n = shape()[a];
  // Python rules: negative indices count from the end; out-of-range bounds are clamped.
  auto clamp_index = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
  start = clamp_index(start);
  stop = std::max(clamp_index(stop), start);
  Shape s = shape(), st = strides();
  s[a] = (stop - start + step - 1) / step;
  st[a] = strides()[a] * step;
  const int64_t off = offset() + start * strides()[a];
  Shape from = shape();
  return make_view(*this, std::move(s), std::move(st), off, "slice",
                   [from, a, start, stop, step](const Tensor& g) {
                     Tensor full_grad = zeros(from, DType::Float32, g.device());
                     full_grad.slice(a, start, stop, step).copy_(g);
                     return std::vector<Tensor>{full_grad};
                   });
}

Tensor Tensor::squeeze(int64_t axis) const {
  require_defined("squeeze");
  int64_t a = normalize_axis(axis, dim(), "squeeze");
  check(shape()[a] == 1, "squeeze", "axis ", axis, " has size ", shape()[a], ", not 1 (shape ",
        shape_str(shape()), ")");
  Shape s = shape(), st = strides();
  s.erase(s.begin() + a);
  st.erase(st.begin() + a);
  return make_view(*this, std::move(s), std::move(st), offset(), "squeeze",
                   [a](const Tensor& g) { return std::vector<Tensor>{g.unsqueeze(a)}; });
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  require_defined("unsqueeze");
  int64_t a = normalize_axis(axis, dim() + 1, "unsqueeze");
  Shape s = shape(), st = strides();
  int64_t stride = a < dim() ? strides()[a] * shape()[a] : 1;
  s.insert(s.begin() + a, 1);
  st.insert(st.begin() + a, stride);
  return make_view(*this, std::move(s), std::move(st), offset(), "unsqueeze",
                   [a](const Tensor& g) { return std::vector<Tensor>{g.squeeze(a)}; });
}

Tensor Tensor::expand(const Shape& target) const {
  require_defined("expand");
  check(target.size() >= shape().size(), "expand", "cannot expand shape ", shape_str(shape()),
        " to fewer dimensions ", shape_str(target));
  const size_t lead = target.size() - shape().size();
  Shape st(target.size(), 0);
  for (size_t i = lead; i < target.size(); ++i) {
    int64_t have = shape()[i - lead];
    check(have == target[i] || have == 1, "expand", "cannot expand shape ", shape_str(shape()),
          " to ", shape_str(target), ": axis ", i - lead, " has size ", have);
    st[i] = have == target[i] ? strides()[i - lead] : 0;
  }
  Shape from = shape();
  return make_view(*this, target, std::move(st), offset(), "expand",
                   [from](const Tensor& g) { return std::vector<Tensor>{sum_to(g, from)}; });
}

// --- copies -----------------------------------------------------------------------------------

Tensor Tensor::contiguous() const {
  require_defined("contiguous");
  if (is_contiguous()) return *this;
  Tensor out = empty(shape(), dtype(), device());
  backend_for(device()).compact(impl_->storage->data(), dtype(), shape(), strides(), offset(),
                                out.storage()->data());
  return record(out, "contiguous", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::clone() const {
  require_defined("clone");
  Tensor out = empty(shape(), dtype(), device());
  backend_for(device()).compact(impl_->storage->data(), dtype(), shape(), strides(), offset(),
                                out.storage()->data());
  return record(out, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::to(DType target) const {
  require_defined("to");
  Tensor src = detach().contiguous();
  Tensor out = empty(shape(), target, device());
  backend_for(device()).cast(src.raw_data(), dtype(), out.raw_data(), target, numel());
  return out;
}

Tensor Tensor::detach() const {
  require_defined("detach");
  return Tensor(make_impl(impl_->storage, impl_->shape, impl_->strides, impl_->offset, impl_->dtype));
}

Tensor Tensor::to(Device target) const {
  require_defined("to");
  if (device() == target) return *this;
  Tensor src = detach().contiguous();
  Tensor out = empty(shape(), dtype(), target);
  cuda_copy(out.raw_data(), target, src.raw_data(), device(), static_cast<size_t>(numel()) * dtype_size(dtype()));
  return record(out, "to", {*this},
                [from = device()](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; });
}

Tensor& Tensor::to_(Device target) {
  require_defined("to_");
  check(is_leaf(), "to_", "can only move leaf tensors in place (this one was made by '",
        impl_->grad_fn ? impl_->grad_fn->name : "", "'); use to(Device) for a copy");
  if (device() == target) return *this;
  Tensor moved = detach().to(target);
  impl_->storage = moved.storage();
  impl_->strides = moved.strides();
  impl_->offset = 0;
  if (impl_->grad.defined()) impl_->grad = impl_->grad.detach().to(target);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  require_defined("copy_");
  check(src.defined(), "copy_", "source tensor is undefined");
  check(src.dtype() == dtype(), "copy_", "dtype mismatch: destination ", dtype_name(dtype()),
        ", source ", dtype_name(src.dtype()));
  Tensor s = src.detach().expand(shape()).contiguous().to(device());
  backend_for(device()).scatter(s.raw_data(), dtype(), shape(), strides(), offset(),
                                impl_->storage->data());
  return *this;
}

Tensor& Tensor::fill_(float value) {
  require_defined("fill_");
  Tensor filled = full({}, value, dtype(), device());  // a 0-d value expands to any shape, 0-d included
  return copy_(filled);
}

// --- autograd ---------------------------------------------------------------------------------

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  require_defined("requires_grad_");
  check(!on || dtype() == DType::Float32, "requires_grad_", "only float32 tensors can require "
        "grad, this one is ", dtype_name(dtype()));
  check(is_leaf(), "requires_grad_", "can only be set on leaf tensors (this one was made by '",
        impl_->grad_fn ? impl_->grad_fn->name : "", "'); use detach() first");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { require_defined("grad"); return impl_->grad; }

void Tensor::set_grad(const Tensor& g) {
  require_defined("set_grad");
  check(!g.defined() || g.shape() == shape(), "set_grad", "gradient shape ",
        g.defined() ? shape_str(g.shape()) : "", " differs from tensor shape ", shape_str(shape()));
  impl_->grad = g;
}

void Tensor::zero_grad() { require_defined("zero_grad"); impl_->grad = Tensor(); }
bool Tensor::is_leaf() const { require_defined("is_leaf"); return impl_->grad_fn == nullptr; }
const std::shared_ptr<Node>& Tensor::grad_fn() const { require_defined("grad_fn"); return impl_->grad_fn; }
void Tensor::set_grad_fn(std::shared_ptr<Node> node) { require_defined("set_grad_fn"); impl_->grad_fn = std::move(node); }

// --- printing ---------------------------------------------------------------------------------

namespace {

// Large tensors show the first and last kEdge entries of each axis, like NumPy.
constexpr int64_t kEdge = 3;

void print_values(std::ostream& os, const Tensor& t, std::vector<int64_t>& index, int64_t axis,
                  bool summarize) {
  if (axis == t.dim()) {
    const char* base = static_cast<const char*>(t.storage()->data());
    int64_t pos = t.offset();
    for (int64_t i = 0; i < t.dim(); ++i) pos += index[i] * t.strides()[i];
    switch (t.dtype()) {
      case DType::Float32: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", reinterpret_cast<const float*>(base)[pos]);
        os << buf;
        break;
      }
      case DType::Int32: os << reinterpret_cast<const int32_t*>(base)[pos]; break;
      case DType::Int8: os << int{reinterpret_cast<const int8_t*>(base)[pos]}; break;
      case DType::UInt8: os << int{reinterpret_cast<const uint8_t*>(base)[pos]}; break;
    }
    return;
  }
  os << "[";
  const int64_t n = t.shape()[axis];
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdge && i == kEdge) {
      os << "...";
      i = n - kEdge - 1;
      os << (axis + 1 == t.dim() ? ", " : ",\n" + std::string(axis + 1, ' '));
      continue;
    }
    index[axis] = i;
    print_values(os, t, index, axis + 1, summarize);
    if (i + 1 < n) os << (axis + 1 == t.dim() ? ", " : ",\n" + std::string(axis + 1, ' '));
  }
  os << "]";
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (device() != Device::CPU) os << ", device=" << device_name(device());
  if (requires_grad()) os << ", requires_grad";
  os << ")\n";
  std::vector<int64_t> index(dim(), 0);
  // Values print from the host: a device tensor is copied over first.
  print_values(os, device() == Device::CPU ? *this : detach().to(Device::CPU), index, 0, numel() > 1000);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

// --- factories --------------------------------------------------------------------------------

Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) check(s >= 0, "empty", "negative size in shape ", shape_str(shape));
  auto storage = std::make_shared<Storage>(numel(shape) * dtype_size(dtype), device);
  return Tensor(make_impl(std::move(storage), shape, contiguous_strides(shape), 0, dtype));
}

Tensor full(const Shape& shape, float value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  backend_for(device).fill(t.storage()->data(), dtype, t.numel(), value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.f, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.f, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor scalar_tensor(float value) { return full({}, value); }

Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                 std::shared_ptr<void> owner) {
  check(shape.size() == strides.size(), "from_blob", "shape ", shape_str(shape), " and strides ",
        shape_str(strides), " differ in rank");
  // The storage spans from element 0 to the farthest element the view reaches.
  int64_t span = numel(shape) == 0 ? 0 : 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    check(shape[i] >= 0 && strides[i] >= 0, "from_blob", "shape ", shape_str(shape),
          " with strides ", shape_str(strides), ": sizes and strides must be >= 0");
    if (numel(shape) > 0) span += (shape[i] - 1) * strides[i];
  }
  auto storage = std::make_shared<Storage>(data, static_cast<size_t>(span) * dtype_size(dtype),
                                           std::move(owner));
  return Tensor(make_impl(std::move(storage), shape, strides, 0, dtype));
}

Tensor arange(float start, float stop, float step) {
  check(step != 0.f, "arange", "step must not be zero");
  const double count = std::ceil((static_cast<double>(stop) - start) / step);
  Tensor t = empty({std::max<int64_t>(0, static_cast<int64_t>(count))});
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = start + static_cast<float>(i) * step;
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.uniform();
  return t;
}

Tensor randn(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.normal();
  return t;
}

}  // namespace qgrad
