// The avx512vnni kernel with its two assembly micro-kernels replaced by plain C++
// (QGRAD_VNNI_EMULATED, see quant/kernels/qgemm_avx512vnni.cpp), compiled without ISA flags. It
// gives CI, whose CPUs have no AVX-512, a run of that file's packing, blocking, tails and
// epilogue (the same source as the real kernel's) against ref; the assembly itself is checked by
// "qgemm every supported kernel equals ref exactly" on a CPU that has AVX-512 VNNI.
#define QGRAD_VNNI_EMULATED 1
#include "quant/kernels/qgemm_avx512vnni.cpp"
