// The counter-based generator's hash (datagen_gpu/params/counter.py holds the
// definition and a plain-torch version; kernels/random.py the Triton one).
//
//   hash32      the "lowbias32" xorshift-multiply mix (uint32 arithmetic wraps
//               modulo 2^32, exactly as the int64 emulation in counter.py does)
//   sample_hash h = hash32(hash32(lo32(id) ^ key) ^ hi32(id)), `key` the hash
//               chain of the scalar words (seed, op id), computed on the host
//   draw_word   word d of that sample: hash32(h ^ hash32(d ^ 0x9E3779B9))
#pragma once
#define DATAGEN_COUNTER_H 1

#include <cstdint>

namespace datagen_gpu {

inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

constexpr uint32_t kGolden = 0x9E3779B9u;

inline uint32_t sample_hash(int64_t id, uint32_t key) {
  const uint64_t v = static_cast<uint64_t>(id);
  return hash32(hash32(static_cast<uint32_t>(v) ^ key) ^ static_cast<uint32_t>(v >> 32));
}

inline uint32_t draw_word(uint32_t h, uint32_t d) { return hash32(h ^ hash32(d ^ kGolden)); }

}  // namespace datagen_gpu
