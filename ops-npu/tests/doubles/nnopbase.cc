// libnnopbase.so of the double: aclTensor, aclScalar, aclIntArray, aclTensorList and
// executor lifetime (public prototypes: aclnn/acl_meta.h). aclCreateTensor refuses, with
// nullptr and a recent-error text, what nnopbase's own checks refuse: more than 8
// dimensions, negative dims/strides/offset, null arrays with a non-zero count, a view
// reaching past its storage.
#include <cstring>
#include <string>

#include "fake_types.h"
#include "numeric.h"

namespace {

constexpr aclnnStatus kNull = 161001;     // ACLNN_ERR_PARAM_NULLPTR
constexpr aclnnStatus kInvalid = 161002;  // ACLNN_ERR_PARAM_INVALID
constexpr aclnnStatus kInnerNull = 561103;  // what both executor calls answer to nullptr
constexpr uint64_t kMaxRank = 8;

std::nullptr_t refuse(const std::string &msg) {
  fake_set_error(("fake nnopbase: " + msg).c_str());
  return nullptr;
}

bool any_negative(const int64_t *v, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i)
    if (v[i] < 0) return true;
  return false;
}

}  // namespace

EXPORT aclTensor *aclCreateTensor(const int64_t *dims, uint64_t n, aclDataType dtype,
                                  const int64_t *strides, int64_t offset, aclFormat format,
                                  const int64_t *storage, uint64_t storage_n, void *data) {
  if (n > kMaxRank || storage_n > kMaxRank)
    return refuse("aclCreateTensor: more than 8 dimensions (view " + std::to_string(n) +
                  ", storage " + std::to_string(storage_n) + ")");
  if ((n > 0 && !dims) || (storage_n > 0 && !storage))
    return refuse("aclCreateTensor: null viewDims or storageDims with a non-zero count");
  // A null stride means contiguous (nnopbase's own examples pass nullptr).
  const std::vector<int64_t> dense = contiguous_strides(std::vector<int64_t>(dims, dims + n));
  if (!strides) strides = dense.data();
  if (any_negative(dims, n) || any_negative(strides, n) || any_negative(storage, storage_n) ||
      offset < 0)
    return refuse("aclCreateTensor: negative dimension, stride or offset");
  if (dtype_size(dtype) == 0 && dtype != ACL_BOOL)
    return refuse("aclCreateTensor: data type " + std::to_string(int(dtype)) +
                  " is not one this double models");
  auto *t = new aclTensor();
  t->dims.assign(dims, dims + n);
  t->strides.assign(strides, strides + n);
  t->storage.assign(storage, storage + storage_n);
  t->dtype = dtype;
  t->format = format;
  t->offset = offset;
  t->data = data;
  const int64_t extent = view_extent(t->dims, t->strides, offset);
  if (t->numel() > 0 && extent > t->storage_numel()) {
    const int64_t have = t->storage_numel();
    delete t;
    return refuse("aclCreateTensor: the view reaches element " + std::to_string(extent - 1) +
                  " but the storage holds " + std::to_string(have));
  }
  fake_count(FAKE_LIVE_TENSORS, 1);
  return t;
}

EXPORT aclnnStatus aclDestroyTensor(const aclTensor *t) {
  if (!t) return kNull;
  fake_count(FAKE_LIVE_TENSORS, -1);
  delete t;
  return 0;
}

// The value is copied now (by the dtype's size), so the caller's variable may go.
EXPORT aclScalar *aclCreateScalar(void *value, aclDataType dtype) {
  if (!value) return refuse("aclCreateScalar: null value");
  const int size = dtype == ACL_BOOL ? 1 : dtype_size(dtype);
  if (size == 0)
    return refuse("aclCreateScalar: data type " + std::to_string(int(dtype)) + " is not modelled");
  auto *s = new aclScalar();
  s->dtype = dtype;
  std::memcpy(s->bytes, value, size_t(size));
  fake_count(FAKE_LIVE_SCALARS, 1);
  return s;
}

EXPORT aclnnStatus aclDestroyScalar(const aclScalar *s) {
  if (!s) return kNull;
  fake_count(FAKE_LIVE_SCALARS, -1);
  delete s;
  return 0;
}

EXPORT aclIntArray *aclCreateIntArray(const int64_t *v, uint64_t n) {
  if (n > 0 && !v) return refuse("aclCreateIntArray: null value with a non-zero size");
  fake_count(FAKE_LIVE_INT_ARRAYS, 1);
  return new aclIntArray{std::vector<int64_t>(v, v + n)};
}

EXPORT aclnnStatus aclDestroyIntArray(const aclIntArray *a) {
  if (!a) return kNull;
  fake_count(FAKE_LIVE_INT_ARRAYS, -1);
  delete a;
  return 0;
}

// The list takes ownership of its tensors: aclDestroyTensorList destroys them.
EXPORT aclTensorList *aclCreateTensorList(const aclTensor *const *v, uint64_t n) {
  if (n > 0 && !v) return refuse("aclCreateTensorList: null value with a non-zero size");
  auto *l = new aclTensorList();
  for (uint64_t i = 0; i < n; ++i) l->tensors.push_back(const_cast<aclTensor *>(v[i]));
  fake_count(FAKE_LIVE_TENSOR_LISTS, 1);
  return l;
}

EXPORT aclnnStatus aclDestroyTensorList(const aclTensorList *l) {
  if (!l) return kNull;
  for (auto *t : l->tensors)
    if (t) aclDestroyTensor(t);
  fake_count(FAKE_LIVE_TENSOR_LISTS, -1);
  delete l;
  return 0;
}

// After this the executor survives its launches until aclDestroyAclOpExecutor.
EXPORT aclnnStatus aclSetAclOpExecutorRepeatable(aclOpExecutor *ex) {
  if (!ex) {
    fake_set_error("fake nnopbase: aclSetAclOpExecutorRepeatable: null executor");
    return kInnerNull;
  }
  ex->repeatable = true;
  return 0;
}

// Only repeatable executors are the caller's to destroy; a one-shot executor belongs
// to its launch (and is gone after it).
EXPORT aclnnStatus aclDestroyAclOpExecutor(aclOpExecutor *ex) {
  if (!ex) {
    fake_set_error("fake nnopbase: aclDestroyAclOpExecutor: null executor");
    return kInnerNull;
  }
  if (!ex->repeatable) {
    fake_set_error(("fake nnopbase: aclDestroyAclOpExecutor: " + ex->name +
                    "'s executor is not repeatable; its launch releases it")
                       .c_str());
    return kInvalid;
  }
  fake_count(FAKE_LIVE_EXECUTORS, -1);
  delete ex;
  return 0;
}
