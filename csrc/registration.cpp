// Operator schemas: defined once here; CPU kernels register in their family
// files (TORCH_LIBRARY_IMPL), fake and CUDA (Triton) kernels in datagen_gpu/ops.
#include <Python.h>
#include <torch/library.h>

#include "isa.h"
#include "common.h"
#include "output_cache.h"

extern "C" {
// `import datagen_gpu._C` loads this library, which runs the registrations.
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
}

TORCH_LIBRARY(datagen_gpu, m) {
  // geometry
  m.def("hflip(Tensor images, Tensor apply, ScalarType out_dtype) -> Tensor");
  // src holds one or many images; src_meta is (B, 6) int64 rows
  // [element offset, H, W, stride C, stride H, stride W] of sample i in src.
  m.def(
      "resized_crop(Tensor src, Tensor src_meta, int channels, Tensor boxes, Tensor flip, "
      "int out_h, int out_w, bool antialias, ScalarType out_dtype, bool channels_last) -> Tensor");
  // affine: matrix (B, 6) float32 inverse maps in pixel-index space, fill (B, C) float32 in
  // [0, 1] units (NaN: none), interpolation 0 nearest / 1 bilinear (csrc/affine.cpp)
  m.def(
      "affine_warp(Tensor images, Tensor matrix, Tensor fill, int interpolation, "
      "ScalarType out_dtype) -> Tensor");
  // color
  m.def("adjust_brightness(Tensor images, Tensor factor, ScalarType out_dtype) -> Tensor");
  m.def("adjust_contrast(Tensor images, Tensor factor, ScalarType out_dtype) -> Tensor");
  m.def("adjust_saturation(Tensor images, Tensor factor, ScalarType out_dtype) -> Tensor");
  m.def("adjust_hue(Tensor images, Tensor factor, ScalarType out_dtype) -> Tensor");
  m.def(
      "color_jitter(Tensor images, Tensor brightness, Tensor contrast, Tensor saturation, "
      "Tensor hue, Tensor order, ScalarType out_dtype) -> Tensor");
  m.def("rgb_to_grayscale(Tensor images, Tensor apply, ScalarType out_dtype) -> Tensor");
  m.def(
      "solarize(Tensor images, Tensor threshold, Tensor apply, ScalarType out_dtype) -> Tensor");
  // per-sample pixel ops of the learned policies (csrc/pixel.cpp; op: (B,) int64 PixelOp codes)
  m.def("pixel_ops(Tensor images, Tensor op, Tensor magnitude, ScalarType out_dtype) -> Tensor");
  // filters and conversion
  m.def(
      "gaussian_blur(Tensor images, int kernel_size, Tensor sigma, Tensor? apply, Tensor? mean, "
      "Tensor? std, ScalarType out_dtype) -> Tensor");
  m.def("normalize(Tensor images, Tensor mean, Tensor std, ScalarType out_dtype) -> Tensor");
  // erase (RandomErasing): boxes (B, 4) int64 (top, left, height, width), value (B, C) float32
  // in the output's value range, random (B,) bool (per-pixel normal noise from the generator
  // of `key` and sample_ids (B,) int64 instead of value); erase_ writes into images
  m.def(
      "erase(Tensor images, Tensor boxes, Tensor value, Tensor random, Tensor sample_ids, int key, "
      "ScalarType out_dtype) -> Tensor");
  m.def(
      "erase_(Tensor(a!) images, Tensor boxes, Tensor value, Tensor random, Tensor sample_ids, "
      "int key) -> ()");
  // testing support: fill freshly allocated CPU outputs with NaN / 0xA5
  m.def("_set_poison_outputs(bool enable) -> ()");
  // the CPU ISA of the color row kernels: -1 the best, 0 baseline, 1 AVX2; returns the one in use
  m.def("_set_cpu_isa(int level) -> int");
  // the cache of large CPU outputs (output_cache.h): limit >= 0 sets the cap on
  // idle bytes, -2 empties it, -1 only reads; returns [idle bytes, limit]
  m.def("_cpu_output_cache(int limit) -> int[]");
  // a flat uninitialized CPU buffer from that cache (ragged batches are packed into it)
  m.def("_cpu_cached_empty(int numel, ScalarType dtype) -> Tensor");
}

TORCH_LIBRARY_IMPL(datagen_gpu, CompositeExplicitAutograd, m) {
  m.impl("_set_poison_outputs", &datagen_gpu::set_poison_outputs);
  m.impl("_set_cpu_isa", &datagen_gpu::set_cpu_isa);
  m.impl("_cpu_output_cache", &datagen_gpu::cpu_output_cache);
  m.impl("_cpu_cached_empty", &datagen_gpu::cpu_cached_empty);
}
