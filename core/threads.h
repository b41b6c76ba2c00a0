// One knob for parallelism, and the pools it sizes.
//
// Debian's OpenBLAS is the pthread build: it has a thread pool of its own, and pools that
// busy-wait after each job fight over the cores they share; on a 2-core machine this made a conv
// layer 20x slower in our benchmark (and is why a default PyTorch set-up can train several times
// slower here). So:
//   - OpenBLAS is always called single-threaded (its pool never wakes);
//   - everything else runs on qgrad's own pool, core/parallel.h, which sleeps instead of spinning
//     when a core is shared: the float path (elementwise loops, reductions, conv over the batch,
//     pooling, softmax, and large GEMMs split into row or column blocks, one single-threaded
//     sgemm per block), the integer kernels and layers (quant/) and image decoding (datasets/);
//   - set_num_threads(n), or QGRAD_NUM_THREADS=n at start-up, sets its size (and OpenMP's, for
//     code outside the library that uses it).
#pragma once

namespace qgrad {

void set_num_threads(int n);
// The pool's size. A QGRAD_NUM_THREADS that is not an integer from 1 to 1024 is a qgrad::Error
// here (not at start-up, where it would abort the program), until set_num_threads() replaces it.
int get_num_threads();

}  // namespace qgrad
