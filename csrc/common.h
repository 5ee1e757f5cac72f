// Shared pieces of the CPU kernels: a strided image view, row load/store with
// dtype conversion to and from float in [0, 1], and argument checks.
//
// Every CPU kernel works on float rows: it loads a row (any dtype, any
// stride) into a float buffer, transforms the buffer, and stores it to the
// output dtype. That keeps the kernels free of per-dtype templates: the only
// dtype dispatch is in load_row / store_row (common.cpp).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace datagen_gpu {

// A (B, C, H, W) image batch with element strides.
struct ImageView {
  char* data;
  at::ScalarType dtype;
  int64_t elem_size;
  int64_t B, C, H, W;
  int64_t sB, sC, sH, sW;

  int64_t offset(int64_t b, int64_t c, int64_t h, int64_t w) const {
    return b * sB + c * sC + h * sH + w * sW;
  }
};

ImageView image_view(const at::Tensor& t);

// The (1, C, H, W) view of a contiguous planar float32 buffer.
ImageView planar_view(float* data, int64_t C, int64_t H, int64_t W);

// dst[i] = value of src[offset + i * stride] as float (uint8 scaled by 1/255).
void load_row(const ImageView& v, int64_t offset, int64_t stride, int64_t n, float* dst);

// dst[offset + i * stride] = src[i] converted to the view's dtype
// (uint8: round-half-up of clamp(255 * x, 0, 255)).
void store_row(const ImageView& v, int64_t offset, int64_t stride, int64_t n, const float* src);

// store_row of the normalized row (src[i] - mean) * inv_std, in one pass when
// the destination is float32 with unit stride (src may be overwritten).
void store_row_normalized(const ImageView& v, int64_t offset, int64_t stride, int64_t n,
                          float* src, float mean, float inv_std);

// dst[dst_offset + i] = src[src_offset + (reversed ? n - 1 - i : i)], both views of
// the same dtype with contiguous rows: a byte copy, no float conversion.
void copy_row(const ImageView& src, int64_t src_offset, const ImageView& dst, int64_t dst_offset,
              int64_t n, bool reversed);

// Allocates a kernel output. When debug poisoning is on (datagen_gpu.testing),
// it is filled with NaN (floats) or 0xA5 (uint8) so an unwritten element fails.
at::Tensor new_output(at::IntArrayRef sizes, at::ScalarType dtype, bool channels_last);

// Output shaped and laid out like `like` (channels-last stays channels-last).
at::Tensor new_output_like(const at::Tensor& like, at::ScalarType dtype);

void set_poison_outputs(bool enable);

// Argument checks. They raise ValueError / TypeError naming the argument.
void check_images(const at::Tensor& images, const char* name, int64_t channels = -1);
// A per-sample parameter: 1-D, length B, dtype `dtype`, on the images' device.
void check_param(const at::Tensor& p, const at::Tensor& images, const char* name,
                 at::ScalarType dtype);
// The same for a batch of `batch` samples on `device` (ops whose images are packed).
void check_param(const at::Tensor& p, int64_t batch, c10::Device device, const char* name,
                 at::ScalarType dtype);
// [lo, hi) = [start, start + length) intersected with [0, size); empty when length <= 0.
inline void clip_range(int64_t start, int64_t length, int64_t size, int64_t& lo, int64_t& hi) {
  constexpr int64_t kBig = int64_t(1) << 40;  // keeps start + length far from overflow
  start = std::clamp(start, -kBig, kBig);
  length = std::clamp(length, int64_t(0), kBig);
  lo = std::clamp(start, int64_t(0), size);
  hi = std::clamp(start + length, lo, size);
}
// (B, 4) int64 boxes (top, left, height, width), contiguous, on the images' device.
void check_boxes(const at::Tensor& boxes, const at::Tensor& images);
void check_out_dtype(at::ScalarType dtype, const char* name);
// float32, float16 or bfloat16 (normalize's and the audio ops' outputs).
void check_float_out_dtype(at::ScalarType dtype, const char* name);
// A per-channel parameter (normalize's mean / std): (C,) float32, contiguous, on `device`.
void check_channel_param(const at::Tensor& p, int64_t C, c10::Device device, const char* name);
// normalize's mean and std, both checked (std non-zero); returns 1 / std per channel.
std::vector<float> normalize_inv_std(const at::Tensor& mean, const at::Tensor& std, int64_t C,
                                     c10::Device device);

// True when channels_last is the layout to keep for outputs of `t`.
bool is_channels_last(const at::Tensor& t);

// Per-sample parameters as contiguous host pointers.
template <typename T>
const T* param_ptr(const at::Tensor& p) {
  return p.const_data_ptr<T>();
}

}  // namespace datagen_gpu
