// Self-test of the double, run by tests/it/npu_double_strict.rs against built variants:
//   selftest DIR SUITE   (SUITE: a2, a3, infer, train, memory, devices)
// Each suite checks the rejections the constraint tables encode (status and a message
// naming the op), hand-computed results from the docs' formulas, strided views with
// offsets, executor reuse, poisoning, and that the counters return to zero.
#include <thread>

#include "selftest_harness.h"

namespace {

constexpr int kNull = 161001, kInvalid = 161002, kNoKernel = 561003;
constexpr float kLn3 = 1.0986122886681098f;

void nnopbase_rules() {
  int64_t dims[2] = {2, 3}, strides[2] = {3, 1}, storage = 5;
  float dummy[8];
  check(!CALL(aclCreateTensor)(dims, 2, ACL_FLOAT, strides, 0, ACL_FORMAT_ND, &storage, 1, dummy) &&
            recent().find("storage") != std::string::npos,
        "a view past its storage is refused");
  storage = 6;
  int64_t neg[2] = {3, -1};
  check(!CALL(aclCreateTensor)(dims, 2, ACL_FLOAT, neg, 0, ACL_FORMAT_ND, &storage, 1, dummy),
        "a negative stride is refused");
  int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  check(!CALL(aclCreateTensor)(nine, 9, ACL_FLOAT, nine, 0, ACL_FORMAT_ND, &storage, 1, dummy),
        "rank 9 is refused");
  check(!CALL(aclCreateTensor)(nullptr, 2, ACL_FLOAT, strides, 0, ACL_FORMAT_ND, &storage, 1, dummy),
        "null dims with a count are refused");
  check(!CALL(aclCreateTensor)(dims, 2, ACL_FLOAT, strides, 1, ACL_FORMAT_ND, &storage, 1, dummy),
        "an offset pushing the view past its storage is refused");
  // The scalar copies its value at creation.
  float v = 3.f;
  aclScalar *s = CALL(aclCreateScalar)(&v, ACL_FLOAT);
  v = 100.f;
  T x = f32({2}, {1.f, 2.f}), o = f32_zeros({2});
  check(OP(aclnnMuls, x.t, s, o.t) == 0, "Muls runs");
  expect_close("Muls reads the value the scalar copied", o.f32(), {3, 6});
  CALL(aclDestroyScalar)(s);
  // A tensor list owns its tensors.
  int64_t one = 1, st1 = 1;
  aclTensor *a = CALL(aclCreateTensor)(&one, 1, ACL_FLOAT, &st1, 0, ACL_FORMAT_ND, &one, 1, dummy);
  const int64_t before = fn<counter_fn>("fake_live_tensors")();
  aclTensorList *l = CALL(aclCreateTensorList)(&a, 1);
  CALL(aclDestroyTensorList)(l);
  check(fn<counter_fn>("fake_live_tensors")() == before - 1, "destroying a list destroys its tensors");
}

void elementwise_a2() {
  Scalar two(2.0f, ACL_FLOAT), one(1.0f, ACL_FLOAT);
  {  // out = self + alpha * other
    T x = f32({3}, {1, 2, 3}), y = f32({3}, {10, 20, 30}), o = f32_zeros({3});
    check(OP(aclnnAdd, x.t, y.t, two.s, o.t) == 0, "Add runs");
    expect_close("Add 1+2*10..", o.f32(), {21, 42, 63});
  }
  {  // broadcasting [2,1] with [3]
    T x = f32({2, 1}, {1, 2}), y = f32({3}, {10, 20, 30}), o = f32_zeros({2, 3});
    check(OP(aclnnAdd, x.t, y.t, one.s, o.t) == 0, "Add broadcast runs");
    expect_close("Add broadcast", o.f32(), {11, 21, 31, 12, 22, 32});
    T bad = f32({2}, {1, 2}), o3 = f32_zeros({3});
    expect_status("Add of [2] and [3]", OP(aclnnAdd, bad.t, y.t, one.s, o3.t), kInvalid, {"aclnnAdd", "broadcast"});
  }
  {  // promotion: f16 + f32 computes in f32
    T x = half(ACL_FLOAT16, {1}, {0x3800}), y = f32({1}, {0.25f}), o = f32_zeros({1});
    check(OP(aclnnAdd, x.t, y.t, one.s, o.t) == 0, "Add f16+f32 runs");
    expect_close("Add 0.5h + 0.25f", o.f32(), {0.75});
  }
  {  // f16 arithmetic rounds to nearest even: (1 + 2^-10) * 3 = 3 + 1.5 ulp -> 3 + 2 ulp
    T x = half(ACL_FLOAT16, {3}, {0x3E00, 0xC000, 0x3C01}), o = half(ACL_FLOAT16, {3}, {0, 0, 0});
    Scalar three(3.0f, ACL_FLOAT);
    check(OP(aclnnMuls, x.t, three.s, o.t) == 0, "Muls f16 runs");
    auto got = o.u16();
    check(got[0] == 0x4480 && got[1] == 0xC600 && got[2] == 0x4202, "Muls f16: 1.5*3=4.5, -2*3=-6, tie to even");
  }
  {
    T x = f32({1}, {5}), y = f32({1}, {1}), o = f32_zeros({1});
    check(OP(aclnnSub, x.t, y.t, two.s, o.t) == 0, "Sub runs");
    expect_close("Sub 5 - 2*1", o.f32(), {3});
    int32_t a[1] = {7}, b[1] = {2};
    T xi(ACL_INT32, 4, {1}, 1, a), yi(ACL_INT32, 4, {1}, 1, b);
    check(OP(aclnnDiv, xi.t, yi.t, o.t) == 0, "Div int32 runs");
    expect_close("Div 7/2 is true division", o.f32(), {3.5});
    Scalar four(4.0f, ACL_FLOAT);
    T z = f32({2}, {1, 2}), oz = f32_zeros({2});
    check(OP(aclnnDivs, z.t, four.s, oz.t) == 0, "Divs runs");
    expect_close("Divs", oz.f32(), {0.25, 0.5});
    check(OP(aclnnAdds, z.t, four.s, two.s, oz.t) == 0, "Adds runs");
    expect_close("Adds 1+2*4", oz.f32(), {9, 10});
    check(OP(aclnnSubs, z.t, four.s, one.s, oz.t) == 0, "Subs runs");
    expect_close("Subs", oz.f32(), {-3, -2});
    T y2 = f32({2}, {3, 4});
    check(OP(aclnnMul, z.t, y2.t, oz.t) == 0, "Mul runs");
    expect_close("Mul", oz.f32(), {3, 8});
  }
  {  // strided view with an offset: storage 0..7, view [2,2] strides [4,2] offset 1 = 1,3,5,7
    std::vector<float> s{0, 1, 2, 3, 4, 5, 6, 7};
    T v(ACL_FLOAT, 4, {2, 2}, 8, s.data(), {4, 2}, 1);
    std::vector<float> z(8, 0.f);
    T out(ACL_FLOAT, 4, {2, 2}, 8, z.data(), {1, 4}, 2);  // a transposed view at offset 2
    check(OP(aclnnNeg, v.t, out.t) == 0, "Neg on strided views runs");
    expect_close("Neg strided in, transposed out", out.f32(), {0, 0, -1, -5, 0, 0, -3, -7});
  }
  {
    T x = f32({2}, {0, 1}), o = f32_zeros({2});
    check(OP(aclnnExp, x.t, o.t) == 0, "Exp runs");
    expect_close("Exp", o.f32(), {1, 2.718281828459045}, 1e-7);
    check(OP(aclnnSigmoid, x.t, o.t) == 0, "Sigmoid runs");
    expect_close("Sigmoid", o.f32(), {0.5, 0.7310585786300049}, 1e-7);
    check(OP(aclnnSilu, x.t, o.t) == 0, "Silu runs");
    expect_close("Silu", o.f32(), {0, 0.7310585786300049}, 1e-7);
    // aclnnGelu's doc gives the tanh form; GeluV2 approximate=0 the erf form.
    check(OP(aclnnGelu, x.t, o.t) == 0, "Gelu runs");
    expect_close("Gelu (tanh form)", o.f32(), {0, 0.8411919906082768}, 1e-7);
    check(OP(aclnnGeluV2, x.t, 0, o.t) == 0, "GeluV2 runs");
    expect_close("GeluV2 erf", o.f32(), {0, 0.8413447460685429}, 1e-7);
    expect_status("GeluV2 approximate 2", OP(aclnnGeluV2, x.t, 2, o.t), kInvalid, {"aclnnGeluV2", "approximate"});
    T r = f32({2}, {-1, 2});
    check(OP(aclnnRelu, r.t, o.t) == 0, "Relu runs");
    expect_close("Relu", o.f32(), {0, 2});
    T h = half(ACL_FLOAT16, {2}, {0, 0});
    expect_status("Relu f32 -> f16", OP(aclnnRelu, r.t, h.t), kInvalid, {"aclnnRelu"});
  }
  {
    T x = f32({3}, {-2, 0.5f, 3}), o = f32_zeros({3});
    Scalar lo(-1.0f, ACL_FLOAT), hi(1.0f, ACL_FLOAT);
    check(OP(aclnnClamp, x.t, lo.s, hi.s, o.t) == 0, "Clamp runs");
    expect_close("Clamp", o.f32(), {-1, 0.5, 1});
    check(OP(aclnnClamp, x.t, nullptr, hi.s, o.t) == 0, "Clamp with only a max runs");
    expect_close("Clamp max only", o.f32(), {-2, 0.5, 1});
    expect_status("Clamp with neither bound", OP(aclnnClamp, x.t, nullptr, nullptr, o.t), kNull, {"aclnnClamp"});
  }
  {  // Cast: f32 0.1 -> f16 0x2E66; f32 -> int32 truncates, NaN -> 0; bf16 tie to even
    T x = f32({3}, {0.1f, -2.7f, NAN});
    T h = half(ACL_FLOAT16, {3}, {0, 0, 0});
    check(OP(aclnnCast, x.t, ACL_FLOAT16, h.t) == 0, "Cast f16 runs");
    check(h.u16()[0] == 0x2E66, "Cast 0.1 to f16 is 0x2E66");
    int32_t z[3] = {9, 9, 9};
    T i(ACL_INT32, 4, {3}, 3, z);
    check(OP(aclnnCast, x.t, ACL_INT32, i.t) == 0, "Cast int32 runs");
    auto iv = i.buf.download<int32_t>();
    check(iv[0] == 0 && iv[1] == -2 && iv[2] == 0, "Cast to int32: 0, -2, NaN -> 0");
    T y = f32({1}, {1.00390625f});
    T b = half(ACL_BF16, {1}, {0});
    check(OP(aclnnCast, y.t, ACL_BF16, b.t) == 0 && b.u16()[0] == 0x3F80, "Cast 1+2^-8 to bf16 ties to 1.0");
    expect_status("Cast dtype != out", OP(aclnnCast, x.t, ACL_FLOAT, h.t), kInvalid, {"aclnnCast"});
  }
  {
    T x = f32({2, 2}, {5, 5, 5, 5}), src = f32({2}, {1, 2});
    check(OP(aclnnInplaceCopy, x.t, src.t) == 0, "InplaceCopy broadcast runs");
    expect_close("InplaceCopy broadcast", x.f32(), {1, 2, 1, 2});
    check(OP(aclnnInplaceZero, x.t) == 0, "InplaceZero runs");
    expect_close("InplaceZero", x.f32(), {0, 0, 0, 0});
    Scalar seven(int32_t(7), ACL_INT32);
    check(OP(aclnnInplaceFillScalar, x.t, seven.s) == 0, "InplaceFillScalar runs");
    expect_close("InplaceFillScalar int 7", x.f32(), {7, 7, 7, 7});
  }
}

void layout_a2() {
  {
    T a = f32({2}, {1, 2}), b = f32({1}, {3}), o = f32_zeros({3});
    aclTensor *both[2] = {a.t, b.t};
    // The list owns what it holds: give it fresh descriptors of the same memory.
    int64_t d2 = 2, d1 = 1, s1 = 1;
    aclTensor *ta = CALL(aclCreateTensor)(&d2, 1, ACL_FLOAT, &s1, 0, ACL_FORMAT_ND, &d2, 1, a.buf.dev);
    aclTensor *tb = CALL(aclCreateTensor)(&d1, 1, ACL_FLOAT, &s1, 0, ACL_FORMAT_ND, &d1, 1, b.buf.dev);
    both[0] = ta;
    both[1] = tb;
    aclTensorList *l = CALL(aclCreateTensorList)(both, 2);
    check(OP(aclnnCat, l, 0, o.t) == 0, "Cat runs");
    expect_close("Cat", o.f32(), {1, 2, 3});
    expect_status("Cat dim 1 of 1-d tensors", OP(aclnnCat, l, 1, o.t), kInvalid, {"aclnnCat", "dim"});
    CALL(aclDestroyTensorList)(l);
  }
  {
    T x = f32({2}, {1, 2}), o = f32_zeros({5}), c = f32_zeros({1});
    Scalar nine(9.0f, ACL_FLOAT);
    IntArray pad({1, 2}), crop({-1, 0});
    check(OP(aclnnConstantPadNd, x.t, pad.a, nine.s, o.t) == 0, "ConstantPadNd runs");
    expect_close("ConstantPadNd", o.f32(), {9, 1, 2, 9, 9});
    check(OP(aclnnConstantPadNd, x.t, crop.a, nine.s, c.t) == 0, "ConstantPadNd crop runs");
    expect_close("ConstantPadNd negative pad crops", c.f32(), {2});
  }
  {
    T x = f32({1, 1, 2, 2}, {1, 2, 3, 4}, ACL_FORMAT_NCHW), o = f32_zeros({1, 1, 4, 4}, ACL_FORMAT_NCHW);
    IntArray size({4, 4});
    check(OP(aclnnUpsampleNearest2d, x.t, size.a, o.t) == 0, "UpsampleNearest2d runs");
    expect_close("UpsampleNearest2d", o.f32(), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    T nd = f32({1, 1, 2, 2}, {1, 2, 3, 4}), ond = f32_zeros({1, 1, 4, 4});
    expect_status("UpsampleNearest2d with ND tensors", OP(aclnnUpsampleNearest2d, nd.t, size.a, ond.t), kInvalid,
                  {"aclnnUpsampleNearest2d", "format ND"});
  }
  {
    T x = f32({3, 2}, {1, 2, 3, 4, 5, 6}), o = f32_zeros({2, 2});
    int64_t i64[2] = {2, 0};
    int32_t i32[2] = {2, 1};
    T idx(ACL_INT64, 8, {2}, 2, i64), idx32(ACL_INT32, 4, {2}, 2, i32);
    check(OP(aclnnIndexSelect, x.t, 0, idx.t, o.t) == 0, "IndexSelect runs");
    expect_close("IndexSelect", o.f32(), {5, 6, 1, 2});
    check(OP(aclnnEmbedding, x.t, idx32.t, o.t) == 0, "Embedding runs");
    expect_close("Embedding", o.f32(), {5, 6, 3, 4});
    T fidx = f32({2}, {0, 1});
    expect_status("IndexSelect with a FLOAT index", OP(aclnnIndexSelect, x.t, 0, fidx.t, o.t), kInvalid,
                  {"aclnnIndexSelect", "index"});
    T s = f32_zeros({3}), src = f32({3}, {1, 2, 3}), out = f32_zeros({3});
    int64_t ia[3] = {0, 2, 0};
    T iadd(ACL_INT64, 8, {3}, 3, ia);
    Scalar two(2.0f, ACL_FLOAT);
    check(OP(aclnnIndexAdd, s.t, 0, iadd.t, src.t, two.s, out.t) == 0, "IndexAdd runs");
    expect_close("IndexAdd", out.f32(), {8, 0, 4});
  }
  {
    T x = f32({2}, {0, kLn3}), o = f32_zeros({2});
    check(OP(aclnnSoftmax, x.t, -1, o.t) == 0, "Softmax runs");
    expect_close("Softmax", o.f32(), {0.25, 0.75}, 1e-6);
    expect_status("Softmax dim 1 of a 1-d tensor", OP(aclnnSoftmax, x.t, 1, o.t), kInvalid, {"aclnnSoftmax", "dim"});
  }
}

void matmul_conv_a2() {
  T a = f32({2, 2}, {1, 2, 3, 4}), b = f32({2, 2}, {5, 6, 7, 8}), o = f32_zeros({2, 2});
  check(OP(aclnnMatmul, a.t, b.t, o.t, 0) == 0, "Matmul runs");
  expect_close("Matmul", o.f32(), {19, 22, 43, 50});
  T ba = f32({2, 1, 2}, {1, 2, 5, 6}), bb = f32({2, 2, 1}, {3, 4, 7, 8}), bo = f32_zeros({2, 1, 1});
  check(OP(aclnnBatchMatMul, ba.t, bb.t, bo.t, 0) == 0, "BatchMatMul runs");
  expect_close("BatchMatMul", bo.f32(), {11, 83});
  T bias = f32({2}, {1, 1}), m1 = f32({1, 2}, {1, 2}), m2 = f32({2, 2}, {1, 0, 0, 1}), ao = f32_zeros({1, 2});
  Scalar beta(2.0f, ACL_FLOAT), alpha(3.0f, ACL_FLOAT);
  check(OP(aclnnAddmm, bias.t, m1.t, m2.t, beta.s, alpha.s, ao.t, 0) == 0, "Addmm runs");
  expect_close("Addmm 2*self + 3*(mat1@mat2)", ao.f32(), {5, 8});
  T bad = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_status("Matmul [2,2]x[3,2]", OP(aclnnMatmul, a.t, bad.t, o.t, 0), kInvalid, {"aclnnMatmul"});
  // Convolution: fp16, NCHW; 3x3 input 1..9, 2x2 kernel of ones, bias 1.
  T x = half(ACL_FLOAT16, {1, 1, 3, 3}, {0x3C00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600, 0x4700, 0x4800, 0x4880},
             ACL_FORMAT_NCHW);
  T w = half(ACL_FLOAT16, {1, 1, 2, 2}, {0x3C00, 0x3C00, 0x3C00, 0x3C00}, ACL_FORMAT_NCHW);
  T cb = half(ACL_FLOAT16, {1}, {0x3C00});
  T y = f32_zeros({1, 1, 2, 2}, ACL_FORMAT_NCHW);
  T yh = half(ACL_FLOAT16, {1, 1, 2, 2}, {0, 0, 0, 0}, ACL_FORMAT_NCHW);
  IntArray s1({1, 1}), s2({2, 2}), p0({0, 0}), p1({1, 1}), d1({1, 1}), op0({0, 0});
  check(OP(aclnnConvolution, x.t, w.t, cb.t, s1.a, p0.a, d1.a, false, op0.a, 1, yh.t, 0) == 0, "Convolution runs");
  auto got = yh.u16();  // 13, 17, 25, 29 in fp16
  check(got[0] == 0x4A80 && got[1] == 0x4C40 && got[2] == 0x4E40 && got[3] == 0x4F40, "Convolution 2x2 of ones + 1");
  check(OP(aclnnConvolution, x.t, w.t, nullptr, s2.a, p1.a, d1.a, false, op0.a, 1, yh.t, 0) == 0,
        "Convolution stride 2 pad 1 runs");
  got = yh.u16();  // 1, 5, 11, 28
  check(got[0] == 0x3C00 && got[1] == 0x4500 && got[2] == 0x4980 && got[3] == 0x4F00, "Convolution stride 2 pad 1");
  T xf = f32_zeros({1, 1, 3, 3}, ACL_FORMAT_NCHW), wf = f32_zeros({1, 1, 2, 2}, ACL_FORMAT_NCHW);
  expect_status("Convolution FLOAT with KEEP_DTYPE",
                OP(aclnnConvolution, xf.t, wf.t, nullptr, s1.a, p0.a, d1.a, false, op0.a, 1, y.t, 0), kInvalid,
                {"aclnnConvolution", "KEEP_DTYPE"});
  T xnd = f32_zeros({1, 1, 3, 3});
  expect_status("Convolution with an ND input",
                OP(aclnnConvolution, xnd.t, wf.t, nullptr, s1.a, p0.a, d1.a, false, op0.a, 1, y.t, 1), kInvalid,
                {"aclnnConvolution", "format ND"});
}

void norms_a2() {
  {
    T x = f32({1, 2}, {3, 4}), g = f32({2}, {1, 2}), y = f32_zeros({1, 2}), r = f32_zeros({1, 1});
    check(OP(aclnnRmsNorm, x.t, g.t, 0.0, y.t, r.t) == 0, "RmsNorm runs");
    // rms = sqrt((9 + 16) / 2) = 3.5355339...
    expect_close("RmsNorm y", y.f32(), {0.8485281374238571, 2.2627416997969522}, 1e-6);
    expect_close("RmsNorm rstd", r.f32(), {0.282842712474619}, 1e-6);
    T rh = half(ACL_FLOAT16, {1, 1}, {0});
    expect_status("RmsNorm rstd in FLOAT16", OP(aclnnRmsNorm, x.t, g.t, 0.0, y.t, rh.t), kInvalid,
                  {"aclnnRmsNorm", "rstdOut"});
  }
  {
    T x = f32({1, 2}, {1, 3}), w = f32({2}, {2, 2}), b = f32({2}, {1, 1}), y = f32_zeros({1, 2});
    T mean = f32_zeros({1, 1}), rstd = f32_zeros({1, 1});
    IntArray ns({2});
    check(OP(aclnnLayerNorm, x.t, ns.a, w.t, b.t, 0.0, y.t, mean.t, rstd.t) == 0, "LayerNorm runs");
    expect_close("LayerNorm", y.f32(), {-1, 3}, 1e-6);
    expect_close("LayerNorm mean, rstd", {mean.f32()[0], rstd.f32()[0]}, {2, 1}, 1e-6);
    T x3 = f32({1, 1, 2}, {1, 3}), sc = f32({1, 2}, {1, 0}), sh = f32({1, 2}, {0, 5}), o3 = f32_zeros({1, 1, 2});
    check(OP(aclnnAdaLayerNorm, x3.t, sc.t, sh.t, nullptr, nullptr, 0.0, o3.t) == 0, "AdaLayerNorm runs");
    expect_close("AdaLayerNorm LN*(1+scale)+shift", o3.f32(), {-2, 6}, 1e-6);
  }
  {
    T x = f32({1, 2, 2}, {1, 3, 5, 7}), g = f32({2}, {1, 1}), b = f32({2}, {0, 0}), y = f32_zeros({1, 2, 2});
    T mean = f32_zeros({1, 2}), rstd = f32_zeros({1, 2});
    check(OP(aclnnGroupNorm, x.t, g.t, b.t, 1, 2, 2, 2, 1e-5, y.t, mean.t, rstd.t) == 0, "GroupNorm runs");
    const double k = 1.0 / std::sqrt(1.0 + 1e-5);
    expect_close("GroupNorm", y.f32(), {-k, k, -k, k}, 1e-6);
    expect_close("GroupNorm mean", mean.f32(), {2, 6}, 1e-6);
    check(OP(aclnnGroupNormSilu, x.t, g.t, b.t, 2, 1e-5, y.t, mean.t, rstd.t) == 0, "GroupNormSilu runs");
    const double sp = k / (1 + std::exp(-k)), sn = -k / (1 + std::exp(k));
    expect_close("GroupNormSilu", y.f32(), {sn, sp, sn, sp}, 1e-6);
    expect_status("GroupNorm group 3 of C 2", OP(aclnnGroupNorm, x.t, g.t, b.t, 1, 2, 2, 3, 1e-5, y.t, mean.t, rstd.t),
                  kInvalid, {"aclnnGroupNorm", "group"});
  }
}

void glu_rope_a2() {
  T x = f32({1, 2}, {1, 2}), o = f32_zeros({1, 1}), og = f32_zeros({1, 1});
  check(OP(aclnnGeGluV3, x.t, -1, 0, false, o.t, og.t) == 0, "GeGluV3 runs");
  expect_close("GeGluV3 A*gelu(B)", o.f32(), {1.9544997361036416}, 1e-6);
  check(OP(aclnnGeGluV3, x.t, -1, 0, true, o.t, og.t) == 0, "GeGluV3 left runs");
  expect_close("GeGluV3 gelu(A)*B", o.f32(), {1.6826894921370859}, 1e-6);
  expect_close("GeGluV3 outGelu", og.f32(), {0.8413447460685429}, 1e-6);
  check(OP(aclnnSwiGlu, x.t, -1, o.t) == 0, "SwiGlu runs");
  expect_close("SwiGlu silu(A)*B", o.f32(), {1.4621171572600098}, 1e-6);
  T odd = f32({1, 3}, {1, 2, 3}), oo = f32_zeros({1, 1});
  expect_status("SwiGlu of an odd dimension", OP(aclnnSwiGlu, odd.t, -1, oo.t), kInvalid, {"aclnnSwiGlu"});
  T r = f32({1, 1, 1, 4}, {1, 2, 3, 4}), c = f32({1, 1, 1, 4}, {1, 1, 0, 0}), s = f32({1, 1, 1, 4}, {0, 0, 1, 1});
  T ro = f32_zeros({1, 1, 1, 4});
  check(OP(aclnnRotaryPositionEmbedding, r.t, c.t, s.t, 0, ro.t) == 0, "RoPE half runs");
  expect_close("RoPE half", ro.f32(), {1, 2, 1, 2});
  check(OP(aclnnRotaryPositionEmbedding, r.t, c.t, s.t, 1, ro.t) == 0, "RoPE interleave runs");
  expect_close("RoPE interleave", ro.f32(), {1, 2, -4, 3});
  expect_status("RoPE mode 2", OP(aclnnRotaryPositionEmbedding, r.t, c.t, s.t, 2, ro.t), kInvalid,
                {"aclnnRotaryPositionEmbedding", "mode"});
}

// q = 0 gives uniform attention: the output is the mean of the attended value rows.
struct Attn {
  static constexpr int D = 16;
  std::vector<uint16_t> q = std::vector<uint16_t>(2 * D, 0), k = std::vector<uint16_t>(2 * D, 0x3C00), v;
  Attn() {
    v.assign(2 * D, 0x3C00);                                 // row 0: 1.0
    std::fill(v.begin() + D, v.end(), uint16_t(0x4200));     // row 1: 3.0
  }
};

// Descriptors handed to a list belong to it; these helpers make list-owned copies.
aclTensor *own(const T &t, std::vector<int64_t> dims) {
  std::vector<int64_t> st(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) st[i - 1] = st[i] * dims[i];
  int64_t n = st[0] * dims[0];
  return CALL(aclCreateTensor)(dims.data(), dims.size(), t.dtype, st.data(), 0, ACL_FORMAT_ND, &n, 1, t.buf.dev);
}

int run_fia(const T &q, const T &k, const T &v, aclTensor *pse, aclTensor *mask, const T &out, int64_t heads,
            std::vector<int64_t> kv_dims) {
  aclTensor *kt = own(k, kv_dims), *vt = own(v, kv_dims);
  aclTensorList *kl = CALL(aclCreateTensorList)(&kt, 1), *vl = CALL(aclCreateTensorList)(&vt, 1);
  char lay[] = "BSND";
  int st = OP(aclnnFusedInferAttentionScoreV2, q.t, kl, vl, pse, mask, nullptr, nullptr, nullptr, nullptr, nullptr,
              nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
              nullptr, nullptr, nullptr, heads, 1.0, 65535, 65535, lay, 0, 0, 0, 0, 0, false, 0, 0, out.t, nullptr);
  CALL(aclDestroyTensorList)(kl);
  CALL(aclDestroyTensorList)(vl);
  return st;
}

void attention_a2() {
  Attn a;
  const std::vector<int64_t> dims{1, 2, 1, Attn::D};  // BSND, one head
  T q = half(ACL_FLOAT16, dims, a.q), k = half(ACL_FLOAT16, dims, a.k), v = half(ACL_FLOAT16, dims, a.v);
  T out = half(ACL_FLOAT16, dims, std::vector<uint16_t>(2 * Attn::D, 0));
  check(run_fia(q, k, v, nullptr, nullptr, out, 1, dims) == 0, "FIA runs");
  check(out.u16()[0] == 0x4000 && out.u16()[2 * Attn::D - 1] == 0x4000, "FIA uniform attention: mean of 1 and 3");
  uint8_t m[4] = {0, 1, 0, 0};  // query 0 may not see key 1
  T mask(ACL_BOOL, 1, {2, 2}, 4, m);
  check(run_fia(q, k, v, nullptr, mask.t, out, 1, dims) == 0, "FIA with a mask runs");
  check(out.u16()[0] == 0x3C00 && out.u16()[Attn::D] == 0x4000, "FIA mask: row 0 sees value row 0 only");
  // Rejections the table encodes.
  std::vector<float> zf(2 * Attn::D, 0.f);
  T qf(ACL_FLOAT, 4, dims, 2 * Attn::D, zf.data()), of(ACL_FLOAT, 4, dims, 2 * Attn::D, zf.data());
  expect_status("FIA with FLOAT query", run_fia(qf, k, v, nullptr, nullptr, of, 1, dims), kInvalid,
                {"aclnnFusedInferAttentionScoreV2", "query", "FLOAT"});
  std::vector<float> pz(4, 0.f);
  T psef(ACL_FLOAT, 4, {1, 1, 2, 2}, 4, pz.data());
  expect_status("FIA with a FLOAT pse", run_fia(q, k, v, psef.t, nullptr, out, 1, dims), kInvalid,
                {"aclnnFusedInferAttentionScoreV2", "pseShiftOptional"});
  const std::vector<int64_t> d8{1, 2, 2, 8};
  T q8 = half(ACL_FLOAT16, d8, a.q), k8 = half(ACL_FLOAT16, d8, a.k), v8 = half(ACL_FLOAT16, d8, a.v),
    o8 = half(ACL_FLOAT16, d8, a.q);
  expect_status("FIA head dim 8", run_fia(q8, k8, v8, nullptr, nullptr, o8, 2, d8), kInvalid,
                {"aclnnFusedInferAttentionScoreV2", "D = 8"});
  // PromptFlashAttention ignores pseShift (the doc: reserved, forced to nullptr).
  std::vector<uint16_t> big(4, 0x5640);  // 100.0 on key 1 for both queries
  T pse(ACL_FLOAT16, 2, {1, 1, 2, 2}, 4, big.data());
  char lay[] = "BSND";
  check(OP(aclnnPromptFlashAttention, q.t, k.t, v.t, pse.t, nullptr, nullptr, 1, 1.0, 65535, 65535, lay, 0, out.t) == 0,
        "PFA runs");
  check(out.u16()[0] == 0x4000, "PFA ignores pseShift");
  // FlashAttentionScore takes FLOAT on A2.
  std::vector<float> qz(8, 0.f), kz(8, 1.f), vz{1, 1, 1, 1, 3, 3, 3, 3};
  const std::vector<int64_t> d4{1, 2, 1, 4};
  T fq(ACL_FLOAT, 4, d4, 8, qz.data()), fk(ACL_FLOAT, 4, d4, 8, kz.data()), fv(ACL_FLOAT, 4, d4, 8, vz.data());
  T fo = f32_zeros(d4), smax = f32_zeros({1, 1, 2, 8}), ssum = f32_zeros({1, 1, 2, 8});
  check(OP(aclnnFlashAttentionScore, fq.t, fk.t, fv.t, nullptr, nullptr, nullptr, nullptr, nullptr, 1.0, 1.0, 65535,
           65535, 1, lay, 0, 0, smax.t, ssum.t, nullptr, fo.t) == 0,
        "FlashAttentionScore runs");
  expect_close("FlashAttentionScore f32", fo.f32(), {2, 2, 2, 2, 2, 2, 2, 2});
  expect_close("FlashAttentionScore softmaxSum", {ssum.f32()[0], ssum.f32()[15]}, {2, 2});
}

void executors_and_poison() {
  // A repeatable executor runs at every launch until destroyed.
  T x = f32({1}, {0});
  Scalar one(1.0f, ACL_FLOAT);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  check(CALL(aclnnAddsGetWorkspaceSize)(x.t, one.s, one.s, x.t, &ws, &ex) == 0, "Adds prepares");
  check(CALL(aclSetAclOpExecutorRepeatable)(ex) == 0, "executor made repeatable");
  {
    Buf w(ws);
    for (int i = 0; i < 3; ++i) check(CALL(aclnnAdds)(w.dev, ws, ex, g_stream) == 0, "repeatable launch");
    CALL(aclrtSynchronizeStream)(g_stream);
  }
  expect_close("three launches of one executor", x.f32(), {3});
  check(CALL(aclDestroyAclOpExecutor)(ex) == 0, "repeatable executor destroyed");
  expect_status("destroying a null executor", CALL(aclDestroyAclOpExecutor)(nullptr), 561103);
  // A workspace smaller than asked for is refused (the one-shot executor is consumed).
  check(CALL(aclnnAddsGetWorkspaceSize)(x.t, one.s, one.s, x.t, &ws, &ex) == 0, "Adds prepares again");
  expect_status("launch with no workspace", CALL(aclnnAdds)(nullptr, 0, ex, g_stream), kInvalid, {"workspace"});
  // Fresh device memory reads as NaN; a launch reading memory freed before the sync fails.
  {
    Buf fresh(8);
    auto bits = fresh.download<uint32_t>();
    check(bits[0] == 0xFFFFFFFFu, "fresh device memory holds the NaN poison");
  }
  auto *doomed = new T(ACL_FLOAT, 4, {2}, 2, nullptr);
  T o = f32_zeros({2});
  check(CALL(aclnnNegGetWorkspaceSize)(doomed->t, o.t, &ws, &ex) == 0, "Neg prepares");
  Buf w(ws);
  check(CALL(aclnnNeg)(w.dev, ws, ex, g_stream) == 0, "Neg launches");
  delete doomed;  // frees (and poisons) the input before the stream runs
  expect_status("sync after the input was freed", CALL(aclrtSynchronizeStream)(g_stream), 507015,
                {"aclnnNeg", "not in live device memory"});
  int64_t d = 2, s = 1;
  float host[2];
  aclTensor *h = CALL(aclCreateTensor)(&d, 1, ACL_FLOAT, &s, 0, ACL_FORMAT_ND, &d, 1, host);
  check(CALL(aclnnNegGetWorkspaceSize)(h, o.t, &ws, &ex) == 0 && CALL(aclnnNeg)(w.dev, ws, ex, g_stream) == 0,
        "Neg on host memory launches");
  expect_status("sync of an op on host memory", CALL(aclrtSynchronizeStream)(g_stream), 507015, {"aclnnNeg"});
  CALL(aclDestroyTensor)(h);
  expect_status("memcpy host to device into host memory",
                CALL(aclrtMemcpy)(host, 8, host, 8, ACL_MEMCPY_HOST_TO_DEVICE), 107000, {"aclrtMemcpy"});
}

// The product and dtype rows of a non-A2 part: 310P (inference) or 910A (training).
void older_parts(bool infer) {
  Scalar one(1.0f, ACL_FLOAT);
  T x = f32({2}, {1, 2}), o = f32_zeros({2});
  T b = half(ACL_BF16, {2}, {0x3F80, 0x4000}), bo = half(ACL_BF16, {2}, {0, 0});
  if (infer) {
    // aclnnAdd's doc: Atlas 推理系列产品 不支持.
    expect_status("Add on 310P", OP(aclnnAdd, x.t, x.t, one.s, o.t), kNoKernel, {"aclnnAdd", "Ascend310P3"});
    expect_status("Muls bf16 on 310P", OP(aclnnMuls, b.t, one.s, bo.t), kInvalid, {"aclnnMuls", "BFLOAT16"});
    T up = f32({1, 1, 1, 1}, {1}, ACL_FORMAT_NCHW), uo = f32_zeros({1, 1, 2, 2}, ACL_FORMAT_NCHW);
    IntArray size({2, 2});
    expect_status("UpsampleNearest2d FLOAT on 310P", OP(aclnnUpsampleNearest2d, up.t, size.a, uo.t), kInvalid,
                  {"aclnnUpsampleNearest2d", "FLOAT"});
  } else {
    expect_status("Add bf16 on 910A", OP(aclnnAdd, b.t, b.t, one.s, bo.t), kInvalid, {"aclnnAdd", "BFLOAT16"});
    expect_status("RmsNorm on 910A", OP(aclnnRmsNorm, x.t, x.t, 1e-6, o.t, o.t), kNoKernel, {"aclnnRmsNorm"});
  }
  // Matmul: FLOAT needs cubeMathType=1, which computes in FLOAT16: 1 + 2^-12 rounds to 1.
  T a = f32({1, 1}, {1.000244140625f}), c = f32({1, 1}, {1}), mo = f32_zeros({1, 1});
  expect_status("Matmul FLOAT KEEP_DTYPE", OP(aclnnMatmul, a.t, c.t, mo.t, 0), kInvalid, {"aclnnMatmul", "KEEP_DTYPE"});
  check(OP(aclnnMatmul, a.t, c.t, mo.t, 1) == 0, "Matmul with cubeMathType=1 runs");
  expect_close("Matmul FLOAT lowered to FLOAT16", mo.f32(), {1});
  // No fused attention before A2.
  const std::vector<int64_t> dims{1, 2, 1, 16};
  std::vector<uint16_t> z(32, 0);
  T q = half(ACL_FLOAT16, dims, z), out = half(ACL_FLOAT16, dims, z);
  expect_status("FIA before A2", run_fia(q, q, q, nullptr, nullptr, out, 1, dims), kNoKernel,
                {"aclnnFusedInferAttentionScoreV2"});
}

void a3_part() {
  // FlashAttentionScore: A2 training only.
  const std::vector<int64_t> d4{1, 2, 1, 4};
  T q = f32_zeros(d4), o = f32_zeros(d4), sm = f32_zeros({1, 1, 2, 8}), ss = f32_zeros({1, 1, 2, 8});
  char lay[] = "BSND";
  expect_status("FlashAttentionScore on A3",
                OP(aclnnFlashAttentionScore, q.t, q.t, q.t, nullptr, nullptr, nullptr, nullptr, nullptr, 1.0, 1.0,
                   65535, 65535, 1, lay, 0, 0, sm.t, ss.t, nullptr, o.t),
                kNoKernel, {"aclnnFlashAttentionScore"});
  Scalar one(1.0f, ACL_FLOAT);
  T x = f32({1}, {1}), y = f32_zeros({1});
  check(OP(aclnnAdds, x.t, one.s, one.s, y.t) == 0, "Adds runs on A3");
}

void memory_limits() {
  // The variant has 1 MiB of device memory.
  size_t free_b = 0, total = 0;
  auto meminfo = fn<aclrtGetMemInfo_fn>("aclrtGetMemInfo");
  check(meminfo(1, &free_b, &total) == 0 && total == (1u << 20) && free_b == total, "GetMemInfo of an empty device");
  void *a = nullptr, *b = nullptr;
  check(CALL(aclrtMalloc)(&a, 600 << 10, ACL_MEM_MALLOC_HUGE_FIRST) == 0, "600 KiB fit");
  expect_status("a second 600 KiB", CALL(aclrtMalloc)(&b, 600 << 10, ACL_MEM_MALLOC_HUGE_FIRST), 207001,
                {"out of memory"});
  check(meminfo(1, &free_b, &total) == 0 && free_b == (424u << 10), "GetMemInfo tracks the allocation");
  CALL(aclrtFree)(a);
  expect_status("double free", CALL(aclrtFree)(a), 107000, {"aclrtFree"});
}

void devices() {
  uint32_t n = 0;
  check(fn<aclrtGetDeviceCount_fn>("aclrtGetDeviceCount")(&n) == 0 && n == 2, "two devices");
  expect_status("SetDevice(2)", CALL(aclrtSetDevice)(2), 107001, {"aclrtSetDevice"});
  // The device belongs to the thread that set it.
  int other = -1, bound = -1;
  std::thread([&] {
    void *p = nullptr;
    other = CALL(aclrtMalloc)(&p, 64, ACL_MEM_MALLOC_HUGE_FIRST);
    CALL(aclrtSetDevice)(1);
    bound = CALL(aclrtMalloc)(&p, 64, ACL_MEM_MALLOC_HUGE_FIRST);
    if (bound == 0) CALL(aclrtFree)(p);
  }).join();
  check(other == 107002, "a thread without aclrtSetDevice cannot allocate (" + std::to_string(other) + ")");
  check(bound == 0, "a thread bound to device 1 allocates");
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: selftest DIR SUITE\n");
    return 2;
  }
  const std::string dir = argv[1], suite = argv[2];
  g_lib.acl = dlopen((dir + "/lib64/libascendcl.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
  g_lib.nn = dlopen((dir + "/lib64/libnnopbase.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
  g_lib.op = dlopen((dir + "/lib64/libopapi.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!g_lib.acl || !g_lib.nn || !g_lib.op) {
    std::fprintf(stderr, "FATAL: dlopen: %s\n", dlerror());
    return 2;
  }
  void *early = nullptr;
  check(CALL(aclInit)(nullptr) == 0, "aclInit");
  expect_status("aclrtMalloc before aclrtSetDevice", CALL(aclrtMalloc)(&early, 64, ACL_MEM_MALLOC_HUGE_FIRST), 107002);
  check(CALL(aclrtSetDevice)(0) == 0, "aclrtSetDevice(0)");
  check(CALL(aclrtCreateStream)(&g_stream) == 0, "aclrtCreateStream");
  if (suite == "a2") {
    nnopbase_rules();
    elementwise_a2();
    layout_a2();
    matmul_conv_a2();
    norms_a2();
    glu_rope_a2();
    attention_a2();
    executors_and_poison();
  } else if (suite == "a3") {
    a3_part();
  } else if (suite == "infer" || suite == "train") {
    older_parts(suite == "infer");
  } else if (suite == "memory") {
    memory_limits();
  } else if (suite == "devices") {
    devices();
  } else {
    std::fprintf(stderr, "unknown suite %s\n", suite.c_str());
    return 2;
  }
  CALL(aclrtDestroyStream)(g_stream);
  // Nothing leaked: every descriptor and allocation the suite made is gone.
  for (const char *c : {"fake_live_tensors", "fake_live_scalars", "fake_live_int_arrays", "fake_live_tensor_lists",
                        "fake_live_executors", "fake_live_allocations", "fake_live_bytes"})
    check(fn<counter_fn>(c)() == 0, std::string(c) + " is " + std::to_string(fn<counter_fn>(c)()));
  check(fn<counter_fn>("fake_launches")() > 0 || suite == "memory" || suite == "devices", "launches were counted");
  std::printf("%s: %d checks, %d failures\n", suite.c_str(), g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
