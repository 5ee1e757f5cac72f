// MoCHi hard-negative mixing (Kalantidis et al., "Hard Negative Mixing for
// Contrastive Learning", NeurIPS 2020): CPU kernels.
//
// For query b (row of `query`, (B, D)) and the queue `negatives` (K, D):
//   n(b, p)  = negatives[hard_index[b, p]]                   p-th hardest negative
//   pair mix t < s:   v = alpha[b, t] * n(b, pair_index[b, t, 0])
//                         + (1 - alpha[b, t]) * n(b, pair_index[b, t, 1])
//   query mix t >= s: v = beta[b, u] * query[b] + (1 - beta[b, u]) * n(b, query_index[b, u]),
//                     u = t - s
//   h(b, t) = v / max(|v|, 1e-12)                             (torch.nn.functional.normalize)
//   logit(b, t) = query[b] . h(b, t) / temperature
//
// mochi_negatives_cpu materializes h (B, s + s', D); mochi_logits_cpu fuses
// gather, mix, normalize and dot in one pass over D per synthetic point and
// never builds h; mochi_logits_backward_cpu returns d(sum grad * logits)/d query
// = sum_t grad[b, t] * h(b, t) / temperature (h is a constant: the synthetic
// points are detached, as in the paper).
//
// Arithmetic: float32 for float16/bfloat16/float32 inputs, float64 when query or
// negatives is float64. Outputs have dtype promote(query, negatives) (the
// backward: query's dtype). Indices are clamped into range so that any value is
// memory-safe (the Python layer validates values on CPU tensors).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "common.h"

namespace datagen_gpu {
namespace {

constexpr double kNormEps = 1e-12;

struct Shapes {
  int64_t B, D, K, N, S1, S2;
};

bool float_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kHalf || t == at::kBFloat16 || t == at::kDouble;
}

void check_tensor(const at::Tensor& t, const char* name, std::initializer_list<int64_t> shape,
                  const char* shape_text, at::ScalarType dtype, const at::Tensor& query) {
  bool ok = t.dim() == static_cast<int64_t>(shape.size());
  if (ok) {
    int64_t i = 0;
    for (int64_t s : shape) ok = ok && t.size(i++) == s;
  }
  TORCH_CHECK_VALUE(ok, name, ": expected shape ", shape_text, " = ", c10::IntArrayRef(shape),
                    ", got ", t.sizes());
  TORCH_CHECK_TYPE(t.scalar_type() == dtype, name, ": expected dtype ", dtype, ", got ",
                   t.scalar_type());
  TORCH_CHECK_VALUE(t.device() == query.device(), name, ": expected device ", query.device(),
                    " (the query's device), got ", t.device());
  TORCH_CHECK_VALUE(t.is_contiguous(), name, ": expected a contiguous tensor");
}

Shapes check_mochi(const at::Tensor& query, const at::Tensor& negatives,
                   const at::Tensor& hard_index, const at::Tensor& pair_index,
                   const at::Tensor& alpha, const at::Tensor& query_index,
                   const at::Tensor& beta) {
  TORCH_CHECK_VALUE(query.dim() == 2, "query: expected a (B, D) tensor, got shape ",
                    query.sizes());
  TORCH_CHECK_TYPE(float_dtype(query.scalar_type()),
                   "query: expected float16, bfloat16, float32 or float64, got ",
                   query.scalar_type());
  TORCH_CHECK_VALUE(negatives.dim() == 2 && negatives.size(1) == query.size(1),
                    "negatives: expected a (K, D) tensor with D = ", query.size(1), ", got shape ",
                    negatives.sizes());
  TORCH_CHECK_TYPE(float_dtype(negatives.scalar_type()),
                   "negatives: expected float16, bfloat16, float32 or float64, got ",
                   negatives.scalar_type());
  TORCH_CHECK_VALUE(negatives.device() == query.device(), "negatives: expected device ",
                    query.device(), " (the query's device), got ", negatives.device());
  Shapes s;
  s.B = query.size(0);
  s.D = query.size(1);
  s.K = negatives.size(0);
  TORCH_CHECK_VALUE(hard_index.dim() == 2, "hard_index: expected a (B, N) tensor, got shape ",
                    hard_index.sizes());
  s.N = hard_index.size(1);
  TORCH_CHECK_VALUE(pair_index.dim() == 3, "pair_index: expected a (B, s, 2) tensor, got shape ",
                    pair_index.sizes());
  s.S1 = pair_index.size(1);
  TORCH_CHECK_VALUE(query_index.dim() == 2, "query_index: expected a (B, s') tensor, got shape ",
                    query_index.sizes());
  s.S2 = query_index.size(1);
  check_tensor(hard_index, "hard_index", {s.B, s.N}, "(B, N)", at::kLong, query);
  check_tensor(pair_index, "pair_index", {s.B, s.S1, 2}, "(B, s, 2)", at::kLong, query);
  check_tensor(alpha, "alpha", {s.B, s.S1}, "(B, s)", at::kFloat, query);
  check_tensor(query_index, "query_index", {s.B, s.S2}, "(B, s')", at::kLong, query);
  check_tensor(beta, "beta", {s.B, s.S2}, "(B, s')", at::kFloat, query);
  TORCH_CHECK_VALUE(s.N > 0 || s.S1 + s.S2 == 0 || s.B == 0,
                    "hard_index: expected at least one hard negative per query (N > 0) when "
                    "synthetic negatives are requested");
  TORCH_CHECK_VALUE(s.K > 0 || s.N == 0 || s.B == 0,
                    "negatives: the queue is empty but hard_index selects N = ", s.N, " rows");
  return s;
}

void check_temperature(double temperature) {
  TORCH_CHECK_VALUE(temperature > 0 && std::isfinite(temperature),
                    "temperature: expected a positive finite number, got ", temperature);
}

// Sums qv = q . v and vv = v . v for v = w * a + (1 - w) * c over d < D.
template <typename TA, typename TC, typename acc_t>
inline void dot_norm(const TA* a, int64_t sa, const TC* c, int64_t sc, const acc_t* q, acc_t w,
                     int64_t D, acc_t& qv, acc_t& vv) {
  const acc_t w2 = acc_t(1) - w;
  acc_t s_qv = 0, s_vv = 0;
  if (sa == 1 && sc == 1) {
#pragma omp simd reduction(+ : s_qv, s_vv)
    for (int64_t d = 0; d < D; ++d) {
      const acc_t v = w * static_cast<acc_t>(a[d]) + w2 * static_cast<acc_t>(c[d]);
      s_vv += v * v;
      s_qv += q[d] * v;
    }
  } else {
    for (int64_t d = 0; d < D; ++d) {
      const acc_t v = w * static_cast<acc_t>(a[d * sa]) + w2 * static_cast<acc_t>(c[d * sc]);
      s_vv += v * v;
      s_qv += q[d] * v;
    }
  }
  qv = s_qv;
  vv = s_vv;
}

// v = w * a + (1 - w) * c into out (D); returns v . v.
template <typename TA, typename TC, typename acc_t>
inline acc_t mix_into(const TA* a, int64_t sa, const TC* c, int64_t sc, acc_t w, int64_t D,
                      acc_t* out) {
  const acc_t w2 = acc_t(1) - w;
  acc_t vv = 0;
  for (int64_t d = 0; d < D; ++d) {
    const acc_t v = w * static_cast<acc_t>(a[d * sa]) + w2 * static_cast<acc_t>(c[d * sc]);
    out[d] = v;
    vv += v * v;
  }
  return vv;
}

template <typename acc_t>
inline acc_t inv_norm(acc_t vv) {
  return acc_t(1) / std::max(std::sqrt(vv), static_cast<acc_t>(kNormEps));
}

// The parents and weight of synthetic point (b, t) of one batch.
template <typename neg_t, typename acc_type>
struct Mixer {
  using acc_t = acc_type;
  const acc_t* q;  // (B, D) contiguous
  const neg_t* neg;
  int64_t s_k, s_d;
  const int64_t* hard;
  const int64_t* pair;
  const float* alpha;
  const int64_t* qidx;
  const float* beta;
  Shapes s;

  // Row of the pos-th hardest negative of query b (indices clamped into range).
  const neg_t* row(int64_t b, int64_t pos) const {
    pos = std::clamp(pos, int64_t(0), s.N - 1);
    const int64_t k = std::clamp(hard[b * s.N + pos], int64_t(0), s.K - 1);
    return neg + k * s_k;
  }

  // qv = q[b] . v and vv = v . v of the unnormalized point v(b, t).
  void dot(int64_t b, int64_t t, acc_t& qv, acc_t& vv) const {
    const acc_t* qb = q + b * s.D;
    if (t < s.S1) {
      const int64_t* pp = pair + (b * s.S1 + t) * 2;
      const acc_t w = static_cast<acc_t>(alpha[b * s.S1 + t]);
      dot_norm(row(b, pp[0]), s_d, row(b, pp[1]), s_d, qb, w, s.D, qv, vv);
    } else {
      const int64_t u = b * s.S2 + (t - s.S1);
      const acc_t w = static_cast<acc_t>(beta[u]);
      dot_norm(qb, int64_t(1), row(b, qidx[u]), s_d, qb, w, s.D, qv, vv);
    }
  }

  // v(b, t) into out (D); returns v . v.
  acc_t vector(int64_t b, int64_t t, acc_t* out) const {
    if (t < s.S1) {
      const int64_t* pp = pair + (b * s.S1 + t) * 2;
      const acc_t w = static_cast<acc_t>(alpha[b * s.S1 + t]);
      return mix_into(row(b, pp[0]), s_d, row(b, pp[1]), s_d, w, s.D, out);
    }
    const int64_t u = b * s.S2 + (t - s.S1);
    const acc_t w = static_cast<acc_t>(beta[u]);
    return mix_into(q + b * s.D, int64_t(1), row(b, qidx[u]), s_d, w, s.D, out);
  }
};

bool use_double(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == at::kDouble || b.scalar_type() == at::kDouble;
}

// Calls f(mixer) with the query in the arithmetic dtype (a small (B, D) copy
// when it is not already) and the queue read in place in its own dtype.
template <typename F>
void with_mixer(const at::Tensor& query, const at::Tensor& negatives, const at::Tensor& hard_index,
                const at::Tensor& pair_index, const at::Tensor& alpha,
                const at::Tensor& query_index, const at::Tensor& beta, const Shapes& s, F&& f) {
  const bool dbl = use_double(query, negatives);
  const at::Tensor q = query.to(dbl ? at::kDouble : at::kFloat).contiguous();
  const at::Tensor neg = dbl ? negatives.to(at::kDouble) : negatives;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, neg.scalar_type(), "mochi", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const Mixer<scalar_t, acc_t> m{q.const_data_ptr<acc_t>(),
                                   neg.const_data_ptr<scalar_t>(),
                                   neg.stride(0),
                                   neg.stride(1),
                                   hard_index.const_data_ptr<int64_t>(),
                                   pair_index.const_data_ptr<int64_t>(),
                                   alpha.const_data_ptr<float>(),
                                   query_index.const_data_ptr<int64_t>(),
                                   beta.const_data_ptr<float>(),
                                   s};
    f(m);
  });
}

}  // namespace

at::Tensor mochi_logits_cpu(const at::Tensor& query, const at::Tensor& negatives,
                            const at::Tensor& hard_index, const at::Tensor& pair_index,
                            const at::Tensor& alpha, const at::Tensor& query_index,
                            const at::Tensor& beta, double temperature) {
  const Shapes s = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta);
  check_temperature(temperature);
  const at::ScalarType out_dtype = c10::promoteTypes(query.scalar_type(), negatives.scalar_type());
  const at::ScalarType acc = use_double(query, negatives) ? at::kDouble : at::kFloat;
  const int64_t S = s.S1 + s.S2;
  at::Tensor out = new_output({s.B, S}, acc, false);
  if (s.B * S > 0) {
    with_mixer(query, negatives, hard_index, pair_index, alpha, query_index, beta, s,
               [&](const auto& m) {
      using acc_t = typename std::decay_t<decltype(m)>::acc_t;
      acc_t* o = out.mutable_data_ptr<acc_t>();
      const acc_t inv_t = static_cast<acc_t>(1.0 / temperature);
      at::parallel_for(0, s.B * S, 32, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          acc_t qv, vv;
          m.dot(i / S, i % S, qv, vv);
          o[i] = qv * inv_norm(vv) * inv_t;
        }
      });
    });
  }
  return out_dtype == acc ? out : out.to(out_dtype);
}

at::Tensor mochi_negatives_cpu(const at::Tensor& query, const at::Tensor& negatives,
                               const at::Tensor& hard_index, const at::Tensor& pair_index,
                               const at::Tensor& alpha, const at::Tensor& query_index,
                               const at::Tensor& beta) {
  const Shapes s = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta);
  const at::ScalarType out_dtype = c10::promoteTypes(query.scalar_type(), negatives.scalar_type());
  const at::ScalarType acc = use_double(query, negatives) ? at::kDouble : at::kFloat;
  const int64_t S = s.S1 + s.S2;
  at::Tensor out = new_output({s.B, S, s.D}, acc, false);
  if (s.B * S * s.D > 0) {
    with_mixer(query, negatives, hard_index, pair_index, alpha, query_index, beta, s,
               [&](const auto& m) {
      using acc_t = typename std::decay_t<decltype(m)>::acc_t;
      acc_t* o = out.mutable_data_ptr<acc_t>();
      at::parallel_for(0, s.B * S, 32, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          acc_t* v = o + i * s.D;
          const acc_t inv = inv_norm(m.vector(i / S, i % S, v));
          for (int64_t d = 0; d < s.D; ++d) v[d] *= inv;
        }
      });
    });
  }
  return out_dtype == acc ? out : out.to(out_dtype);
}

at::Tensor mochi_logits_backward_cpu(const at::Tensor& grad, const at::Tensor& query,
                                     const at::Tensor& negatives, const at::Tensor& hard_index,
                                     const at::Tensor& pair_index, const at::Tensor& alpha,
                                     const at::Tensor& query_index, const at::Tensor& beta,
                                     double temperature) {
  const Shapes s = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta);
  check_temperature(temperature);
  const int64_t S = s.S1 + s.S2;
  TORCH_CHECK_VALUE(grad.dim() == 2 && grad.size(0) == s.B && grad.size(1) == S,
                    "grad: expected shape (", s.B, ", ", S, "), got ", grad.sizes());
  TORCH_CHECK_TYPE(float_dtype(grad.scalar_type()), "grad: expected a floating point tensor, got ",
                   grad.scalar_type());
  const at::ScalarType acc = use_double(query, negatives) ? at::kDouble : at::kFloat;
  const at::Tensor g = grad.to(acc).contiguous();
  at::Tensor out = new_output({s.B, s.D}, acc, false);
  if (s.B * s.D > 0) {
    with_mixer(query, negatives, hard_index, pair_index, alpha, query_index, beta, s,
               [&](const auto& m) {
      using acc_t = typename std::decay_t<decltype(m)>::acc_t;
      acc_t* o = out.mutable_data_ptr<acc_t>();
      const acc_t* gp = g.const_data_ptr<acc_t>();
      const acc_t inv_t = static_cast<acc_t>(1.0 / temperature);
      at::parallel_for(0, s.B, 1, [&](int64_t begin, int64_t end) {
        std::vector<acc_t> v(s.D);
        for (int64_t b = begin; b < end; ++b) {
          acc_t* row = o + b * s.D;
          std::fill(row, row + s.D, acc_t(0));
          for (int64_t t = 0; t < S; ++t) {
            const acc_t c = gp[b * S + t] * inv_norm(m.vector(b, t, v.data())) * inv_t;
            for (int64_t d = 0; d < s.D; ++d) row[d] += c * v[d];
          }
        }
      });
    });
  }
  return query.scalar_type() == acc ? out : out.to(query.scalar_type());
}

}  // namespace datagen_gpu

TORCH_LIBRARY_FRAGMENT(datagen_gpu, m) {
  // MoCHi: hard_index (B, N) int64, pair_index (B, s, 2) int64, alpha (B, s) float32,
  // query_index (B, s') int64, beta (B, s') float32; see the top of this file.
  m.def(
      "mochi_negatives(Tensor query, Tensor negatives, Tensor hard_index, Tensor pair_index, "
      "Tensor alpha, Tensor query_index, Tensor beta) -> Tensor");
  m.def(
      "mochi_logits(Tensor query, Tensor negatives, Tensor hard_index, Tensor pair_index, "
      "Tensor alpha, Tensor query_index, Tensor beta, float temperature) -> Tensor");
  m.def(
      "mochi_logits_backward(Tensor grad, Tensor query, Tensor negatives, Tensor hard_index, "
      "Tensor pair_index, Tensor alpha, Tensor query_index, Tensor beta, float temperature) "
      "-> Tensor");
}

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("mochi_negatives", &datagen_gpu::mochi_negatives_cpu);
  m.impl("mochi_logits", &datagen_gpu::mochi_logits_cpu);
  m.impl("mochi_logits_backward", &datagen_gpu::mochi_logits_backward_cpu);
}
