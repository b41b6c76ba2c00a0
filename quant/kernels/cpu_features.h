// CPU feature predicates behind each kernel's supported(). They live in dispatch.cpp, which is
// compiled without ISA flags, so asking the question never executes the instructions in question.
#pragma once

namespace qgrad::quant::detail {

bool cpu_has_avx2();
bool cpu_has_avx512vnni();  // AVX-512 F/BW/VNNI and the OS saves the ZMM and mask state
bool cpu_has_neon();
bool cpu_has_neon_dot();  // Armv8.2 SDOT/UDOT (HWCAP_ASIMDDP)
bool always_supported();

}  // namespace qgrad::quant::detail
