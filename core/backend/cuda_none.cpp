// core/backend/cuda_backend.h for a build without the CUDA backend: every entry point fails
// with a clear qgrad::Error (nothing here can be reached with a CUDA tensor, since none can be
// made, but the program must never crash on the attempt).
#ifndef QGRAD_HAVE_CUDA
#include "core/backend/cuda_backend.h"
#include "core/error.h"

namespace qgrad {

namespace {
[[noreturn]] void not_built(const char* op) {
  fail(op, "device 'cuda' is not available: qgrad was built without CUDA (configure with "
           "-DQGRAD_CUDA=ON on a machine with the CUDA toolkit)");
}
}  // namespace

Backend& cuda_backend() { not_built("backend_for"); }
void* cuda_malloc(size_t) { not_built("Storage"); }
void cuda_free(void*) noexcept {}
void cuda_copy(void*, Device, const void*, Device, size_t) { not_built("to"); }
void cuda_sgd_update(float*, const float*, float*, int64_t, const SgdStep&) { not_built("SGD"); }
void cuda_adam_update(float*, const float*, float*, float*, int64_t, const AdamStep&) { not_built("Adam"); }

}  // namespace qgrad
#endif
