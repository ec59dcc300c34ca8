// Argument validation shared by every backend. Runs before any array is read by a kernel, so a bad
// call fails with a named argument instead of reading out of bounds.
#ifndef IPO_CORE_VALIDATE_H
#define IPO_CORE_VALIDATE_H

#include <vector>

#include "ipo.h"

namespace ipo {

struct Shape {
  int64_t sequences = 0;
  int64_t seq_len = 0;
  int64_t vocab = 0;
  int64_t rows = 0;       // sequences * seq_len
  int64_t elements = 0;   // rows * vocab
  int64_t elem_bytes = 0; // 4 for float32, 2 for bf16/f16
};

// The rows with a label, in row-major order, and how many each sequence has.
struct ScoredRows {
  std::vector<int64_t> rows;
  std::vector<int64_t> per_sequence;
};

// Pointers, dtype, positive sizes whose products fit in int64 (and in size_t bytes).
int32_t validate_shape(const ipo_logits* in, Shape* shape, ipo_error* err);

// Every label is in [0, vocab) or IPO_IGNORE_INDEX; collects the scored rows.
int32_t collect_scored_rows(const ipo_logits* in, const Shape& shape, ScoredRows* scored, ipo_error* err);

// Options of the DPO loss and the pair structure: even number of sequences, every sequence scored.
int32_t validate_dpo(const Shape& shape, const ScoredRows& scored, const float* ref_logps,
                     const ipo_dpo_options* options, const ipo_dpo_outputs* out, ipo_error* err);

}  // namespace ipo

#endif
