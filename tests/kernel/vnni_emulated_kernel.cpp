// The avx512vnni kernel's packing and loop nest with its five vector operations emulated in
// plain C++ (QGRAD_VNNI_EMULATED, see quant/kernels/qgemm_avx512vnni.cpp), compiled with -mavx2
// for the shared epilogue (tests/CMakeLists.txt). It gives CI, whose CPUs have no AVX-512, a run
// of that file's blocking, tails and epilogue calls against ref; the real instructions are
// checked by "qgemm every supported kernel equals ref exactly" on a CPU that has them.
#define QGRAD_VNNI_EMULATED 1
#include "quant/kernels/qgemm_avx512vnni.cpp"
