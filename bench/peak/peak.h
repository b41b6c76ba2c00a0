// Peak int8 multiply-add throughput of this CPU, measured with independent accumulator chains so
// only the multiplier ports limit it (used by bench_kernels for its "share of peak" column).
// Ops count a multiply-add as 2; a vpmaddubsw counts its nominal 32 u8 x s8 products, a vpdpbusd
// (zmm) its 64. Each returns 0 when the CPU lacks the instructions; x86-64 only.
#pragma once

namespace qgrad::bench {

double peak_gops_avx2(int threads);        // vpmaddubsw + vpmaddwd + vpaddd
double peak_gops_avx512vnni(int threads);  // vpdpbusd zmm

}  // namespace qgrad::bench
