// One knob for parallelism. qgrad's own loops use OpenMP; matmul and conv call OpenBLAS, which
// on Debian is the pthread build with its own thread pool. If both pools run at once on the
// same cores they oversubscribe them and spin against each other (this is why a default
// PyTorch set-up can train several times slower on a 2-core machine). So:
//   - set_num_threads(n) sets both pools to n;
//   - QGRAD_NUM_THREADS=n does the same at start-up;
//   - an OpenMP region that calls BLAS inside it wraps itself in BlasSingleThreaded, so each
//     OpenMP thread runs its own single-threaded GEMM instead of waking n BLAS threads each.
#pragma once

namespace qgrad {

void set_num_threads(int n);
int get_num_threads();

// RAII: OpenBLAS runs single-threaded while this lives (restored on destruction).
// Create it outside the OpenMP parallel region, never inside.
class BlasSingleThreaded {
 public:
  BlasSingleThreaded();
  ~BlasSingleThreaded();
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int saved_;
};

}  // namespace qgrad
