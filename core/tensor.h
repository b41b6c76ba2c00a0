// Tensor: an n-dimensional view (shape + strides + offset, all in elements) into a shared
// Storage, with a dtype, a device and — for float32 — the autograd fields.
//
// Devices: a tensor lives on the CPU or, in a build with the CUDA backend, on the GPU
// (Device::CUDA). Ops run on their inputs' device and fail when the inputs' devices differ;
// to(Device) copies between devices. Host access (at, item, to_vector, printing) copies a CUDA
// tensor's values to the host first, or (at, which returns a reference) refuses it.
//
//   element [i0, i1, ...] lives at storage[offset + i0*strides[0] + i1*strides[1] + ...]
//
// Copying a Tensor copies a handle (like torch.Tensor or a shared_ptr): both handles see the
// same data. Views (reshape, transpose, permute, slice, squeeze, unsqueeze, expand) build a new
// TensorImpl on the same Storage; expand uses stride 0 for broadcast axes. Views are
// differentiable: each records a node whose backward maps the gradient back to the source.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/random.h"
#include "core/shape.h"
#include "core/storage.h"

namespace qgrad {

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() == false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }

  // --- metadata -----------------------------------------------------------------------------
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return qgrad::numel(shape()); }
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  void* raw_data() const;  // untyped pointer to element [0, 0, ...], for backend calls
                           // (a device pointer for a CUDA tensor)

  // --- element access -----------------------------------------------------------------------
  // Pointer to element [0, 0, ...] in host memory; checks that T matches the dtype and that
  // the tensor is on the CPU (a CUDA tensor's values are read through to(Device::CPU),
  // to_vector() or item()). Index with strides() unless is_contiguous().
  template <class T> T* data();
  template <class T> const T* data() const;
  // The same pointer on any device (a device pointer for a CUDA tensor): for backend calls,
  // never to be dereferenced by host code.
  template <class T> T* device_data();
  template <class T> const T* device_data() const;
  // Bounds-checked access to one element: t.at({1, 2}) = 3.f; int8: t.at<int8_t>({0}).
  template <class T = float> T& at(std::initializer_list<int64_t> index);  // CPU tensors only
  template <class T = float> const T& at(std::initializer_list<int64_t> index) const;
  float item() const;  // the value of a one-element float32 tensor (copied from any device)
  // All elements in row-major order (works for any strides).
  template <class T = float> std::vector<T> to_vector() const;

  // --- views (share storage) ----------------------------------------------------------------
  Tensor view(Shape shape) const;     // requires a contiguous tensor; -1 infers one size
  Tensor reshape(Shape shape) const;  // a view when possible, else a contiguous copy
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor transpose(int64_t axis0, int64_t axis1) const;
  Tensor permute(const std::vector<int64_t>& axes) const;
  Tensor slice(int64_t axis, int64_t start, int64_t stop, int64_t step = 1) const;  // Python rules
  Tensor squeeze(int64_t axis) const;
  Tensor unsqueeze(int64_t axis) const;
  Tensor expand(const Shape& shape) const;  // broadcast view, stride 0 on expanded axes
  Tensor t() const;                         // transpose of a 2-D tensor

  // --- copies -------------------------------------------------------------------------------
  Tensor contiguous() const;  // itself when already contiguous, else a row-major copy
  Tensor clone() const;       // always a new storage (differentiable)
  Tensor to(DType dtype) const;  // value conversion; float→int rounds half away from zero
                                 // and saturates. Not differentiable.
  Tensor detach() const;      // same storage, cut from the graph
  // A copy on `device` (itself when already there). Differentiable: the gradient is copied back.
  Tensor to(Device device) const;
  // Moves this leaf's data (and its .grad) to `device` in place: every handle to the tensor
  // sees the move, so a module's and an optimizer's handles to a parameter stay one tensor.
  // The data becomes contiguous; views made earlier keep the old storage.
  Tensor& to_(Device device);

  // In-place, not recorded by autograd (used by optimizers and initializers under no_grad):
  Tensor& copy_(const Tensor& src);  // src broadcasts to this shape; dtypes must match; src
                                     // may be on another device (it is copied over)
  Tensor& fill_(float value);

  // --- autograd -----------------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaf float32 tensors
  Tensor grad() const;                     // undefined until backward() reaches it
  void set_grad(const Tensor& g);
  void zero_grad();                        // drops .grad (the next backward starts from 0)
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> node);
  // Reverse-mode differentiation from this tensor. `grad` defaults to 1 for a scalar;
  // gradients accumulate (+=) into .grad of the leaves that require grad.
  void backward(const Tensor& grad = Tensor()) const;

  std::string to_string() const;  // "tensor(shape=[2, 3], dtype=float32)\n[[...]]"
  TensorImpl* impl() const { return impl_.get(); }

 private:
  void require_defined(const char* op) const;
  int64_t element_index(std::initializer_list<int64_t> index, const char* op) const;
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// --- factories ------------------------------------------------------------------------------
Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::CPU);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::CPU);
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::CPU);
Tensor full(const Shape& shape, float value, DType dtype = DType::Float32, Device device = Device::CPU);
Tensor zeros_like(const Tensor& t);  // same shape, dtype and device
Tensor ones_like(const Tensor& t);
// arange, rand, randn, from_blob and from_vector make CPU tensors (move them with to(Device)).
Tensor arange(float start, float stop, float step = 1.f);  // float32, [start, stop)
Tensor rand(const Shape& shape, Generator& gen = default_generator());   // U[0, 1)
Tensor randn(const Shape& shape, Generator& gen = default_generator());  // N(0, 1)
Tensor scalar_tensor(float value);  // shape []
// A tensor over memory qgrad did not allocate (e.g. a NumPy array's buffer), without copying:
// element [i...] at data + sum(i_k * strides[k]) elements. `owner` is kept alive as long as any
// tensor views the memory. Strides must be >= 0 (a copy is the caller's answer otherwise).
Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                 std::shared_ptr<void> owner);
// Copies values into a new tensor of the given shape (T defaults to float, so
// from_vector({1, 2, 3}, {3}) is float32; from_vector<int8_t>({-1, 2}, {2}) is int8).
template <class T = float>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);

// --- template definitions -------------------------------------------------------------------
namespace detail {
[[noreturn]] void dtype_mismatch(const char* op, DType want, DType have);
[[noreturn]] void not_on_host(const char* op, Device device);
}

template <class T>
T* Tensor::device_data() {
  require_defined("data");
  if (dtype() != dtype_of<T>()) detail::dtype_mismatch("data", dtype_of<T>(), dtype());
  return static_cast<T*>(impl_->storage->data()) + impl_->offset;
}

template <class T>
const T* Tensor::device_data() const {
  return const_cast<Tensor*>(this)->device_data<T>();
}

template <class T>
T* Tensor::data() {
  require_defined("data");
  if (device() != Device::CPU) detail::not_on_host("data", device());
  return device_data<T>();
}

template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

template <class T>
T& Tensor::at(std::initializer_list<int64_t> index) {
  if (dtype() != dtype_of<T>()) detail::dtype_mismatch("at", dtype_of<T>(), dtype());
  if (device() != Device::CPU) detail::not_on_host("at", device());
  return static_cast<T*>(impl_->storage->data())[element_index(index, "at")];
}

template <class T>
const T& Tensor::at(std::initializer_list<int64_t> index) const {
  return const_cast<Tensor*>(this)->at<T>(index);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = device() == Device::CPU ? contiguous() : detach().to(Device::CPU);
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  check(static_cast<int64_t>(values.size()) == numel(shape), "from_vector", values.size(),
        " values do not fill shape ", shape_str(shape), " (", numel(shape), " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

}  // namespace qgrad
