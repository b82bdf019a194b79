// The SoC the double pretends to be (-DFAKE_SOC) and the product family the op docs
// speak of. The docs name products, not SoCs: "Atlas A2/A3" are Ascend910B1..B4 and
// Ascend910_93xx, "Atlas 推理系列产品" (inference) is Ascend310P*, "Atlas 训练系列产品"
// (training) is Ascend910A-class (Ascend910A/ProA/ProB/PremiumA and the legacy
// "Ascend910B" name without a digit), "Atlas 200I/500 A2" is Ascend310B*.
#pragma once

#include <cstring>

#ifndef FAKE_SOC
#define FAKE_SOC "Ascend910B3"
#endif

enum Family : unsigned {
  FAM_A2A3 = 1u << 0,
  FAM_TRAIN = 1u << 1,
  FAM_INFER = 1u << 2,
  FAM_310B = 1u << 3,
  FAM_950 = 1u << 4,
  FAM_ALL = 0x1F,
};

inline bool soc_starts(const char *prefix) {
  return std::strncmp(FAKE_SOC, prefix, std::strlen(prefix)) == 0;
}

inline Family soc_family() {
  const char *s = FAKE_SOC;
  if (soc_starts("Ascend910_93")) return FAM_A2A3;
  // Ascend910B1..B4 (a digit follows the B); bare "Ascend910B" is the older 910A class.
  if (soc_starts("Ascend910B") && s[10] >= '1' && s[10] <= '9') return FAM_A2A3;
  if (soc_starts("Ascend910")) return FAM_TRAIN;
  if (soc_starts("Ascend310P")) return FAM_INFER;
  if (soc_starts("Ascend310B")) return FAM_310B;
  if (soc_starts("Ascend950")) return FAM_950;
  return FAM_TRAIN;  // unknown names get the most restrictive table we have
}

inline const char *family_name(unsigned f) {
  switch (f) {
    case FAM_A2A3: return "Atlas A2/A3";
    case FAM_TRAIN: return "Atlas training (910A class)";
    case FAM_INFER: return "Atlas inference (310P)";
    case FAM_310B: return "Atlas 200I/500 A2 (310B)";
    case FAM_950: return "Ascend 950";
    default: return "unknown";
  }
}
