// resized_crop's CPU building blocks, shared by resized_crop_cpu
// (csrc/geometry.cpp) and fused_augment_cpu (csrc/fused.cpp): argument checks
// of the packed source (src + src_meta rows) and boxes, a sample's strided
// view, and the two separable passes on float rows (tap tables: resample.h).
//
// A sample is resampled in row blocks: horizontal_rows turns the input rows a
// block of output rows needs into rows of out_w floats (tmp), vertical_row
// combines them into one output row. Both passes are float32.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "common.h"
#include "resample.h"

namespace datagen_gpu {

constexpr int64_t kMetaCols = 6;  // [element offset, H, W, stride C, stride H, stride W]

// Validates src_meta against src's storage so no row can be read out of bounds.
void check_src_meta(const at::Tensor& src, const at::Tensor& meta, int64_t channels);

// The arguments resized_crop and fused_augment share: the packed source's
// dtype and src_meta, the channel count, the output size and dtype.
void check_resample_args(const at::Tensor& src, const at::Tensor& meta, int64_t channels,
                         int64_t out_h, int64_t out_w, at::ScalarType out_dtype);

// (batch, 4) float32 contiguous finite boxes with height and width > 0.
void check_boxes(const at::Tensor& boxes, int64_t batch, const at::Tensor& src);

// (batch,) contiguous bool on src's device.
void check_flip(const at::Tensor& flip, int64_t batch, const at::Tensor& src);

// The (1, channels, H, W) view of sample b described by its src_meta row.
ImageView sample_view(const at::Tensor& src, const int64_t* meta, int64_t b, int64_t channels);

// Tap tables of one sample: rows from (top, height), columns from (left,
// width), reversed when flipped.
struct CropTaps {
  int64_t b = -1;  // sample the tables belong to (-1: none yet)
  AxisTaps rows, cols;
};

void crop_taps(const float* box, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
               bool antialias, bool flip, CropTaps& t);

// Input rows [*y0, *y1) read by output rows [oy0, oy1) (empty: *y0 == *y1).
void input_rows(const AxisTaps& rows, int64_t oy0, int64_t oy1, int64_t* y0, int64_t* y1);

// Per-thread scratch of horizontal_rows.
struct CropScratch {
  std::vector<float> row;          // kLanes input rows (crop columns) converted to float
  std::vector<float> interleaved;  // kLanes rows, column-major
};

// tmp[(y - y0) * out_w + ox] = sum_k cols.weight[ox, k] * src[c, y, cols.start[ox] + k]
// for input rows y in [y0, y1). Zeros when the columns miss the image.
void horizontal_rows(const ImageView& src, int64_t c, int64_t y0, int64_t y1,
                     const AxisTaps& cols, int64_t out_w, CropScratch& s, float* tmp);

// out[ox] = sum_k rows.weight[oy, k] * tmp[(rows.start[oy] + k - y0) * out_w + ox]
// (zeros when the row's taps miss the image).
void vertical_row(const AxisTaps& rows, int64_t oy, const float* tmp, int64_t y0, int64_t out_w,
                  float* out);

}  // namespace datagen_gpu
