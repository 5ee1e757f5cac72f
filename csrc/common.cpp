#include "common.h"

#include <c10/core/MemoryFormat.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <c10/util/Half.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "color_math.h"
#include "output_cache.h"
#include "row_io_simd.h"

namespace datagen_gpu {
namespace {

std::atomic<bool> g_poison{false};

template <typename T>
inline float to_float(T x) {
  return static_cast<float>(x);
}
template <>
inline float to_float<uint8_t>(uint8_t x) {
  return rowio::u8_to_float(x);
}

template <typename T>
inline T from_float(float x) {
  return static_cast<T>(x);
}
template <>
inline uint8_t from_float<uint8_t>(float x) {
  return rowio::float_to_u8(x);
}

template <typename T>
void load_impl(const char* base, int64_t stride, int64_t n, float* dst) {
  const T* p = reinterpret_cast<const T*>(base);
  if (stride == 1) {
    if constexpr (std::is_same_v<T, uint8_t>) {
      rowio::load_u8(p, n, dst);
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = to_float<T>(p[i]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = to_float<T>(p[i * stride]);
  }
}

template <typename T>
void store_impl(char* base, int64_t stride, int64_t n, const float* src) {
  T* p = reinterpret_cast<T*>(base);
  if (stride == 1) {
    if constexpr (std::is_same_v<T, uint8_t>) {
      rowio::store_u8(p, n, src);
    } else {
      for (int64_t i = 0; i < n; ++i) p[i] = from_float<T>(src[i]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) p[i * stride] = from_float<T>(src[i]);
  }
}

#define DATAGEN_DISPATCH_IMAGE_DTYPE(DTYPE, FN, ...)                       \
  switch (DTYPE) {                                                         \
    case at::kByte: FN<uint8_t>(__VA_ARGS__); break;                       \
    case at::kFloat: FN<float>(__VA_ARGS__); break;                        \
    case at::kHalf: FN<c10::Half>(__VA_ARGS__); break;                     \
    case at::kBFloat16: FN<c10::BFloat16>(__VA_ARGS__); break;             \
    default: TORCH_CHECK_TYPE(false, "datagen_gpu: unsupported dtype ", DTYPE); \
  }

bool supported_dtype(at::ScalarType t) {
  return t == at::kByte || t == at::kFloat || t == at::kHalf || t == at::kBFloat16;
}

}  // namespace

ImageView image_view(const at::Tensor& t) {
  ImageView v;
  v.data = static_cast<char*>(const_cast<void*>(t.const_data_ptr()));
  v.dtype = t.scalar_type();
  v.elem_size = static_cast<int64_t>(t.element_size());
  v.B = t.size(0);
  v.C = t.size(1);
  v.H = t.size(2);
  v.W = t.size(3);
  v.sB = t.stride(0);
  v.sC = t.stride(1);
  v.sH = t.stride(2);
  v.sW = t.stride(3);
  return v;
}

ImageView planar_view(float* data, int64_t C, int64_t H, int64_t W) {
  ImageView v;
  v.data = reinterpret_cast<char*>(data);
  v.dtype = at::kFloat;
  v.elem_size = sizeof(float);
  v.B = 1;
  v.C = C;
  v.H = H;
  v.W = W;
  v.sB = 0;
  v.sC = H * W;
  v.sH = W;
  v.sW = 1;
  return v;
}

void load_row(const ImageView& v, int64_t offset, int64_t stride, int64_t n, float* dst) {
  if (stride == -1 && n > 1) {
    // a reversed contiguous row (hflip): convert it forwards, then reverse
    // the float row, so the conversion takes the vectorized path
    load_row(v, offset - (n - 1), 1, n, dst);
    rowio::reverse(dst, n);
    return;
  }
  const char* base = v.data + offset * v.elem_size;
  DATAGEN_DISPATCH_IMAGE_DTYPE(v.dtype, load_impl, base, stride, n, dst)
}

void store_row(const ImageView& v, int64_t offset, int64_t stride, int64_t n, const float* src) {
  char* base = v.data + offset * v.elem_size;
  DATAGEN_DISPATCH_IMAGE_DTYPE(v.dtype, store_impl, base, stride, n, src)
}

void store_row_normalized(const ImageView& v, int64_t offset, int64_t stride, int64_t n,
                          float* src, float mean, float inv_std) {
  if (v.dtype == at::kFloat && stride == 1) {
    float* __restrict d = reinterpret_cast<float*>(v.data) + offset;
    const float* __restrict x = src;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) d[i] = (x[i] - mean) * inv_std;
    return;
  }
  color::normalize_row(src, n, mean, inv_std);
  store_row(v, offset, stride, n, src);
}

namespace {

template <typename T>
void reverse_copy(const char* src, char* dst, int64_t n) {
  const T* s = reinterpret_cast<const T*>(src);
  T* d = reinterpret_cast<T*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = s[n - 1 - i];
}

}  // namespace

void copy_row(const ImageView& src, int64_t src_offset, const ImageView& dst, int64_t dst_offset,
              int64_t n, bool reversed) {
  const char* s = src.data + src_offset * src.elem_size;
  char* d = dst.data + dst_offset * dst.elem_size;
  if (!reversed) {
    std::memcpy(d, s, static_cast<size_t>(n * src.elem_size));
  } else if (src.elem_size == 1) {
    rowio::reverse_u8(reinterpret_cast<const uint8_t*>(s), n, reinterpret_cast<uint8_t*>(d));
  } else if (src.elem_size == 2) {
    reverse_copy<uint16_t>(s, d, n);
  } else {
    reverse_copy<uint32_t>(s, d, n);
  }
}

void set_poison_outputs(bool enable) { g_poison.store(enable); }

at::Tensor new_output(at::IntArrayRef sizes, at::ScalarType dtype, bool channels_last) {
  at::Tensor out = cached_empty(sizes, dtype, channels_last);
  if (g_poison.load()) {
    if (dtype == at::kByte) {
      out.fill_(0xA5);
    } else {
      out.fill_(std::numeric_limits<float>::quiet_NaN());
    }
  }
  return out;
}

bool is_channels_last(const at::Tensor& t) {
  return t.dim() == 4 && t.size(1) > 1 && !t.is_contiguous() &&
         t.is_contiguous(c10::MemoryFormat::ChannelsLast);
}

at::Tensor new_output_like(const at::Tensor& like, at::ScalarType dtype) {
  return new_output(like.sizes(), dtype, is_channels_last(like));
}

void check_images(const at::Tensor& images, const char* name, int64_t channels) {
  TORCH_CHECK_VALUE(images.dim() == 4, name, ": expected a (B, C, H, W) tensor, got ",
                    images.dim(), " dimensions");
  TORCH_CHECK_TYPE(supported_dtype(images.scalar_type()), name,
                   ": expected uint8, float16, bfloat16 or float32, got ",
                   images.scalar_type());
  if (channels > 0) {
    TORCH_CHECK_VALUE(images.size(1) == channels, name, ": expected ", channels,
                      " channels, got ", images.size(1));
  }
}

void check_param(const at::Tensor& p, int64_t batch, c10::Device device, const char* name,
                 at::ScalarType dtype) {
  TORCH_CHECK_VALUE(p.dim() == 1 && p.size(0) == batch, name, ": expected shape (", batch,
                    ",), got ", p.sizes());
  TORCH_CHECK_TYPE(p.scalar_type() == dtype, name, ": expected dtype ", dtype, ", got ",
                   p.scalar_type());
  TORCH_CHECK_VALUE(p.device() == device, name, ": expected device ", device,
                    " (the images' device), got ", p.device());
  TORCH_CHECK_VALUE(p.is_contiguous(), name, ": expected a contiguous tensor");
}

void check_param(const at::Tensor& p, const at::Tensor& images, const char* name,
                 at::ScalarType dtype) {
  check_param(p, images.size(0), images.device(), name, dtype);
}

void check_boxes(const at::Tensor& boxes, const at::Tensor& images) {
  TORCH_CHECK_VALUE(boxes.dim() == 2 && boxes.size(0) == images.size(0) && boxes.size(1) == 4,
                    "boxes: expected shape (", images.size(0), ", 4) (top, left, height, width), got ",
                    boxes.sizes());
  TORCH_CHECK_TYPE(boxes.scalar_type() == at::kLong, "boxes: expected dtype int64, got ",
                   boxes.scalar_type());
  TORCH_CHECK_VALUE(boxes.device() == images.device(), "boxes: expected device ", images.device(),
                    " (the images' device), got ", boxes.device());
  TORCH_CHECK_VALUE(boxes.is_contiguous(), "boxes: expected a contiguous tensor");
}

void check_channel_param(const at::Tensor& p, int64_t C, c10::Device device, const char* name) {
  TORCH_CHECK_VALUE(p.dim() == 1 && p.size(0) == C, name, ": expected shape (", C,
                    ",), one value per channel, got ", p.sizes());
  TORCH_CHECK_TYPE(p.scalar_type() == at::kFloat, name, ": expected dtype float32, got ",
                   p.scalar_type());
  TORCH_CHECK_VALUE(p.device() == device, name, ": expected device ", device,
                    " (the images' device), got ", p.device());
  TORCH_CHECK_VALUE(p.is_contiguous(), name, ": expected a contiguous tensor");
}

std::vector<float> normalize_inv_std(const at::Tensor& mean, const at::Tensor& std, int64_t C,
                                     c10::Device device) {
  check_channel_param(mean, C, device, "mean");
  check_channel_param(std, C, device, "std");
  const float* s = std.const_data_ptr<float>();
  std::vector<float> inv(C);
  for (int64_t c = 0; c < C; ++c) {
    TORCH_CHECK_VALUE(s[c] != 0.0f, "std: expected non-zero values, got 0 for channel ", c);
    inv[c] = 1.0f / s[c];
  }
  return inv;
}

void check_float_out_dtype(at::ScalarType dtype, const char* name) {
  TORCH_CHECK_TYPE(dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16, name,
                   ": expected a floating dtype (float32, float16 or bfloat16), got ", dtype);
}

void check_out_dtype(at::ScalarType dtype, const char* name) {
  TORCH_CHECK_TYPE(supported_dtype(dtype), name,
                   ": expected uint8, float16, bfloat16 or float32, got ", dtype);
}

}  // namespace datagen_gpu
