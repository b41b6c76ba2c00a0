// Shapes and strides. A shape lists the size of each axis; strides (in elements, not bytes)
// say how far to step in storage to move one along each axis. Row-major ("C") order:
// strides[i] = prod(shape[i+1:]).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qgrad {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3]"

// Maps a possibly negative axis (-1 = last) into [0, ndim); fails naming op on a bad axis.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

// NumPy broadcasting: align from the right, sizes must match or be 1.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace qgrad
