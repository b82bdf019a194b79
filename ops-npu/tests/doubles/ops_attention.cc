// The fused attention ops. Which SoC has which op is each table's `products` (FIA and PFA:
// Atlas A2/A3; FlashAttentionScore: Atlas A2 training only). The maths, from the docs:
// out = softmax(scale * Q K^T + pse, masked) V with mask value 1 = not attended, GQA by
// head ratio. A row with every key masked gives 0.
#include <cmath>
#include <cstring>

#include "opapi.h"

namespace {

struct Layout {
  std::string name;
  int64_t b = 0, s = 0, n = 0, d = 0;
};

// Reads B, S, N, D of a q/k/v tensor in `layout` (BSH: H = N * D with N given).
int parse(const char *op, const std::string &layout, const aclTensor *t, int64_t heads, Layout &l) {
  l.name = layout;
  const auto &x = t->dims;
  if (layout == "BSH") {
    if (x.size() != 3 || heads <= 0 || x[2] % heads != 0)
      return fail(kInvalid, op, "BSH needs a 3-d tensor whose H divides by the head count");
    l = {layout, x[0], x[1], heads, x[2] / heads};
  } else if (layout == "BSND" || layout == "BNSD") {
    if (x.size() != 4) return fail(kInvalid, op, layout + " needs 4-d tensors, got " + shape_str(x));
    const bool bsnd = layout == "BSND";
    l = {layout, x[0], bsnd ? x[1] : x[2], bsnd ? x[2] : x[1], x[3]};
  } else {
    return fail(kNotModelled, op, "input layout \"" + layout + "\" is not modelled by this double");
  }
  return 0;
}

// Dense index of (b, s, n, d) in a row-major tensor of this layout.
size_t at(const Layout &l, int64_t b, int64_t s, int64_t n, int64_t d) {
  if (l.name == "BNSD") return size_t(((b * l.n + n) * l.s + s) * l.d + d);
  return size_t(((b * l.s + s) * l.n + n) * l.d + d);  // BSND and BSH share the order
}

struct Request {
  const char *op;
  const aclTensor *q, *k, *v, *pse, *mask, *out, *lse, *smax, *ssum;
  int64_t heads, kv_heads;
  double scale;
  std::string layout;
  int64_t max_d;
  bool d_align16;
};

aclnnStatus attention(const Request &r, uint64_t *ws, aclOpExecutor **ex) {
  const char *op = r.op;
  Layout lq, lk, lv, lo;
  if (r.q->dtype != r.k->dtype || r.q->dtype != r.v->dtype)
    return fail(kInvalid, op, "query, key and value must share one dtype");
  if (r.q->dtype == ACL_INT8) return fail(kNotModelled, op, "INT8 (quantised) attention is not modelled");
  if (r.out->dtype != r.q->dtype)
    return fail(kInvalid, op, "attentionOut must have query's dtype (quantised output is not modelled)");
  const int64_t kvh = r.kv_heads == 0 ? r.heads : r.kv_heads;
  if (r.heads <= 0 || r.heads > 256 || kvh <= 0 || r.heads % kvh != 0 || r.heads / kvh > 64)
    return fail(kInvalid, op, "numHeads " + std::to_string(r.heads) + " / numKeyValueHeads " +
                                  std::to_string(kvh) + ": N must be 1..256, divisible by the KV heads, ratio <= 64");
  if (int st = parse(op, r.layout, r.q, r.heads, lq)) return st;
  if (int st = parse(op, r.layout, r.k, kvh, lk)) return st;
  if (int st = parse(op, r.layout, r.v, kvh, lv)) return st;
  if (int st = parse(op, r.layout, r.out, r.heads, lo)) return st;
  if (lq.n != r.heads || lk.n != kvh || lv.n != kvh)
    return fail(kInvalid, op, "numHeads/numKeyValueHeads do not match the tensors' N");
  if (lk.b != lq.b || lv.b != lq.b || lk.s != lv.s || lk.d != lq.d || lv.d > lk.d || lo.b != lq.b ||
      lo.s != lq.s || lo.d != lv.d)
    return fail(kInvalid, op, "query, key, value and attentionOut shapes disagree");
  if (lq.d > r.max_d || (r.d_align16 && lq.d % 16 != 0))
    return fail(kInvalid, op, "head dim D = " + std::to_string(lq.d) + " must be <= " + std::to_string(r.max_d) +
                                  (r.d_align16 ? " and a multiple of 16 for FLOAT16/BFLOAT16" : ""));
  const std::vector<int64_t> full{lq.b, lq.n, lq.s, lk.s};
  aclTensor pse_view, mask_view;
  if (r.pse) {
    // FIA: FLOAT16 pse with FLOAT16 (or INT8) queries, BFLOAT16 with BFLOAT16.
    if (r.pse->dtype != r.q->dtype)
      return fail(kInvalid, op, std::string("pse ") + dtype_name(r.pse->dtype) + " does not match query " +
                                    dtype_name(r.q->dtype));
    std::vector<int64_t> bs;
    if (!broadcast_shapes(r.pse->dims, full, bs) || bs != full || r.pse->dims[1] != lq.n)
      return fail(kInvalid, op, "pse " + shape_str(r.pse->dims) + " is not (B|1, N, Sq|1, Skv)");
  }
  if (r.mask) {
    // Masks may be padded up to aligned sizes; the top-left Sq x Skv is used.
    aclTensor m = *r.mask;
    const size_t rk = m.dims.size();
    if (m.dims[rk - 2] < lq.s || m.dims[rk - 1] < lk.s)
      return fail(kInvalid, op, "attenMask " + shape_str(m.dims) + " is smaller than Sq x Skv");
    m.dims[rk - 2] = lq.s;
    m.dims[rk - 1] = lk.s;
    std::vector<int64_t> bs;
    if (!broadcast_shapes(m.dims, full, bs) || bs != full)
      return fail(kInvalid, op, "attenMask " + shape_str(r.mask->dims) + " does not broadcast to [B, N, Sq, Skv]");
    mask_view = m;
  }
  if (r.lse && r.lse->dims != std::vector<int64_t>{lq.b, lq.n, lq.s, 1})
    return fail(kInvalid, op, "softmaxLse must be [B, N, Sq, 1]");
  for (const aclTensor *st : {r.smax, r.ssum})
    if (st && st->dims != std::vector<int64_t>{lq.b, lq.n, lq.s, 8})
      return fail(kInvalid, op, "softmaxMaxOut/softmaxSumOut must be [B, N, Sq, 8]");
  const bool has_pse = r.pse, has_mask = r.mask, has_lse = r.lse, has_stats = r.smax && r.ssum;
  const double scale = r.scale;
  const int64_t group = r.heads / kvh;
  std::vector<const aclTensor *> ts{r.q, r.k, r.v, r.out};
  if (has_pse) ts.push_back(r.pse);
  if (has_mask) ts.push_back(&mask_view);
  if (has_lse) ts.push_back(r.lse);
  if (has_stats) ts.insert(ts.end(), {r.smax, r.ssum});
  return prepare(op, ts,
                 [=](const std::vector<aclTensor> &v) {
                   size_t k = 4;
                   auto q = read(v[0]), kk = read(v[1]), vv = read(v[2]);
                   std::vector<double> pse = has_pse ? read(broadcast_to(v[k++], full)) : std::vector<double>();
                   std::vector<double> mask = has_mask ? read(broadcast_to(v[k++], full)) : std::vector<double>();
                   std::vector<double> o(size_t(v[3].numel()), 0.0), lse, mx, sm;
                   std::vector<double> p(size_t(lk.s));
                   for (int64_t b = 0; b < lq.b; ++b)
                     for (int64_t n = 0; n < lq.n; ++n)
                       for (int64_t i = 0; i < lq.s; ++i) {
                         const size_t row = size_t(((b * lq.n + n) * lq.s + i) * lk.s);
                         double m = -INFINITY;
                         for (int64_t j = 0; j < lk.s; ++j) {
                           if (has_mask && mask[row + size_t(j)] != 0) {
                             p[size_t(j)] = -INFINITY;
                             continue;
                           }
                           double dot = 0;
                           for (int64_t d = 0; d < lq.d; ++d)
                             dot += q[at(lq, b, i, n, d)] * kk[at(lk, b, j, n / group, d)];
                           p[size_t(j)] = scale * dot + (has_pse ? pse[row + size_t(j)] : 0.0);
                           m = std::max(m, p[size_t(j)]);
                         }
                         double sum = 0;
                         for (auto &e : p) sum += (e = std::isinf(e) ? 0.0 : std::exp(e - m));
                         for (int64_t d = 0; d < lv.d; ++d) {
                           double acc = 0;
                           for (int64_t j = 0; j < lk.s; ++j) acc += p[size_t(j)] * vv[at(lv, b, j, n / group, d)];
                           o[at(lo, b, i, n, d)] = sum > 0 ? acc / sum : 0.0;
                         }
                         lse.push_back(sum > 0 ? m + std::log(sum) : INFINITY);
                         for (int c = 0; c < 8; ++c) {
                           mx.push_back(m);
                           sm.push_back(sum);
                         }
                       }
                   write(v[3], o);
                   if (has_lse) write(v[k++], lse);
                   if (has_stats) {
                     write(v[k], mx);
                     write(v[k + 1], sm);
                   }
                   return 0;
                 },
                 ws, ex);
}

}  // namespace

EXPORT aclnnStatus aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
    const aclTensor *query, const aclTensorList *key, const aclTensorList *value, const aclTensor *pse,
    const aclTensor *mask, const aclIntArray *seq, const aclIntArray *seq_kv, const aclTensor *dq1,
    const aclTensor *qs1, const aclTensor *dq2, const aclTensor *qs2, const aclTensor *qo2,
    const aclTensor *aqs, const aclTensor *aqo, const aclTensor *block_table, const aclTensor *qpad,
    const aclTensor *kvpad, const aclTensor *kaqs, const aclTensor *kaqo, const aclTensor *vaqs,
    const aclTensor *vaqo, const aclTensor *kprefix, const aclTensor *vprefix, const aclIntArray *prefix_len,
    int64_t numHeads, double scaleValue, int64_t, int64_t, char *inputLayout, int64_t numKeyValueHeads,
    int64_t sparseMode, int64_t innerPrecise, int64_t, int64_t, bool softmaxLseFlag, int64_t, int64_t,
    const aclTensor *attentionOut, const aclTensor *softmaxLse, uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnFusedInferAttentionScoreV2";
  const OpTable &t = table(op);
  if (!key || !value || !inputLayout) return fail(kNullptr, op, "key, value or inputLayout is null");
  if (key->tensors.size() != 1 || value->tensors.size() != 1)
    return fail(kNotModelled, op, "key/value lists of more than one tensor are not modelled");
  if (softmaxLseFlag && !softmaxLse) return fail(kNullptr, op, "softmaxLseFlag without softmaxLse");
  if (int st = check_all(t, {{"query", query}, {"key", key->tensors[0]}, {"value", value->tensors[0]},
                             {"pseShiftOptional", pse}, {"attenMaskOptional", mask}, {"attentionOut", attentionOut},
                             {"softmaxLse", softmaxLseFlag ? softmaxLse : nullptr}}))
    return st;
  for (const void *p : {(const void *)seq, (const void *)seq_kv, (const void *)dq1, (const void *)qs1,
                        (const void *)dq2, (const void *)qs2, (const void *)qo2, (const void *)aqs,
                        (const void *)aqo, (const void *)block_table, (const void *)qpad, (const void *)kvpad,
                        (const void *)kaqs, (const void *)kaqo, (const void *)vaqs, (const void *)vaqo,
                        (const void *)kprefix, (const void *)vprefix, (const void *)prefix_len})
    if (p) return fail(kNotModelled, op, "quantisation, paging, prefixes and sequence lengths are not modelled");
  if (sparseMode < 0 || sparseMode > 4) return fail(kInvalid, op, "sparseMode must be 0..4");
  if (sparseMode > 1) return fail(kNotModelled, op, "sparseMode 2..4 (optimised causal masks) are not modelled");
  if (innerPrecise < 0 || innerPrecise > 3) return fail(kInvalid, op, "innerPrecise must be 0..3");
  return attention({op, query, key->tensors[0], value->tensors[0], pse, mask, attentionOut,
                    softmaxLseFlag ? softmaxLse : nullptr, nullptr, nullptr, numHeads, numKeyValueHeads,
                    scaleValue, inputLayout, 512, true},
                   ws, ex);
}
FAKE_LAUNCH(aclnnFusedInferAttentionScoreV2)

EXPORT aclnnStatus aclnnPromptFlashAttentionGetWorkspaceSize(
    const aclTensor *query, const aclTensor *key, const aclTensor *value, const aclTensor *pse,
    const aclTensor *mask, const aclIntArray *seq, int64_t numHeads, double scaleValue, int64_t, int64_t,
    char *inputLayout, int64_t numKeyValueHeads, const aclTensor *attentionOut, uint64_t *ws,
    aclOpExecutor **ex) {
  const char *op = "aclnnPromptFlashAttention";
  if (!inputLayout) return fail(kNullptr, op, "inputLayout is null");
  if (int st = check_all(table(op), {{"query", query}, {"key", key}, {"value", value}, {"pseShift", pse},
                                     {"attenMask", mask}, {"attentionOut", attentionOut}}))
    return st;
  if (seq) return fail(kNotModelled, op, "actualSeqLengths is not modelled");
  // The doc: pseShift is reserved and forced to nullptr, so a bias passed here is ignored.
  return attention({op, query, key, value, nullptr, mask, attentionOut, nullptr, nullptr, nullptr, numHeads,
                    numKeyValueHeads, scaleValue, inputLayout, 512, true},
                   ws, ex);
}
FAKE_LAUNCH(aclnnPromptFlashAttention)

EXPORT aclnnStatus aclnnFlashAttentionScoreGetWorkspaceSize(
    const aclTensor *query, const aclTensor *key, const aclTensor *value, const aclTensor *realShift,
    const aclTensor *dropMask, const aclTensor *paddingMask, const aclTensor *mask, const aclIntArray *prefix,
    double scaleValue, double keepProb, int64_t, int64_t, int64_t headNum, char *inputLayout, int64_t,
    int64_t sparseMode, const aclTensor *softmaxMax, const aclTensor *softmaxSum, const aclTensor *,
    const aclTensor *attentionOut, uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnFlashAttentionScore";
  if (!inputLayout) return fail(kNullptr, op, "inputLayout is null");
  if (int st = check_all(table(op), {{"query", query}, {"key", key}, {"value", value},
                                     {"realShiftOptional", realShift}, {"attenMaskOptional", mask},
                                     {"softmaxMaxOut", softmaxMax}, {"softmaxSumOut", softmaxSum},
                                     {"attentionOutOut", attentionOut}}))
    return st;
  // "Atlas A2 训练系列产品 √", A3 ×.
  if (soc_starts("Ascend910_93")) return fail(kNoKernel, op, std::string("no kernel for ") + FAKE_SOC);
  if (dropMask || paddingMask || prefix || keepProb != 1.0 || sparseMode != 0)
    return fail(kNotModelled, op, "dropout, padding masks, prefixes and sparse modes are not modelled");
  const std::string lay = inputLayout;
  const bool bsnd = lay == "BSND";
  const int64_t kv_heads = lay == "BSH" ? headNum : (bsnd ? key->dims[2] : key->dims[1]);
  return attention({op, query, key, value, realShift, mask, attentionOut, nullptr, softmaxMax, softmaxSum, headNum,
                    kv_heads, scaleValue, lay, 768, false},
                   ws, ex);
}
FAKE_LAUNCH(aclnnFlashAttentionScore)
