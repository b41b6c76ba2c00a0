// One knob for parallelism, and one thread pool.
//
// Debian's OpenBLAS is the pthread build: it has a thread pool of its own next to OpenMP's, and
// both pools busy-wait for a while after each job. When a program alternates between OpenMP
// loops and multi-threaded BLAS calls (conv's im2col, then a Linear layer's GEMM, then the
// elementwise ops), each pool spins on the cores the other one needs; on a 2-core machine this
// made a conv layer 20x slower in our benchmark (and is why a default PyTorch set-up can train
// several times slower here). So qgrad keeps exactly one pool:
//   - OpenBLAS is always called single-threaded (its pool never wakes);
//   - all parallelism is OpenMP: elementwise loops, conv over the batch, and large GEMMs split
//     into row or column blocks, one single-threaded sgemm per thread (core/backend/cpu_gemm.cpp);
//   - set_num_threads(n), or QGRAD_NUM_THREADS=n at start-up, sets that pool's size.
#pragma once

namespace qgrad {

void set_num_threads(int n);
// The pool's size. A QGRAD_NUM_THREADS that is not an integer from 1 to 1024 is a qgrad::Error
// here (not at start-up, where it would abort the program), until set_num_threads() replaces it.
int get_num_threads();

}  // namespace qgrad
