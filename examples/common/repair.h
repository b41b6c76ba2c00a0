// The post-training repairs of quant/repair/ as ptq and quant_sweep run them, in the one order
// that works: cross-layer equalization on the prepared model before calibration (the ranges are
// then observed on the equalized weights); after the observers are frozen, AdaRound (it chooses
// the final weight codes) and then bias correction (it takes out the mean error those codes
// still leave). All on the calibration images; no labels.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataset.h"
#include "examples/common/cli.h"
#include "nn/module.h"
#include "quant/fakequant/qconfig.h"
#include "quant/repair/adaround.h"
#include "quant/repair/bias_correction.h"
#include "quant/repair/equalization.h"

namespace qgrad::examples {

struct RepairFlags {
  bool equalize = false, bias_correction = false, adaround = false;
  int64_t adaround_iters = 500;
};
// --equalize, --bias-correction, --adaround, --adaround-iters.
void add_repair_flags(CLI::App& app, RepairFlags& flags);
// "rtn" (round to nearest: no repair) or the repairs in the order they run, "cle+adaround+bc".
std::string repair_name(const RepairFlags& flags);

struct RepairReport {
  quant::Equalization equalization;
  std::vector<quant::AdaRoundResult> adaround;
  std::vector<quant::BiasCorrection> bias;
  double seconds = 0;  // the repairs' own time (equalization + AdaRound + bias correction)
};

// Before calibration: equalizes `prepared` when --equalize.
void equalize_if_asked(const RepairFlags& flags, nn::Module& prepared, RepairReport& report);
// After calibration (observers frozen, fake quantization on): AdaRound and bias correction when
// asked, on the calibration images `sampling` picks from train_set. The model may be on the GPU:
// the repairs run on the CPU and it goes back where it was.
void repair_calibrated(const RepairFlags& flags, nn::Module& prepared, const data::Dataset& train_set,
                       const quant::Sampling& sampling, RepairReport& report);

// What ran, for the printout (one line per repair, none for "rtn") and the metrics JSON.
void print_repair(const RepairFlags& flags, const RepairReport& report);
nlohmann::json repair_json(const RepairFlags& flags, const RepairReport& report);

}  // namespace qgrad::examples
