// Element access for every data type the double computes with: widening to double,
// rounding back to the element type (nearest, ties to even, as a kernel's final cast),
// and walking a strided view with its offset.
#pragma once

#include <cstdint>
#include <vector>

#include "fake_types.h"

// Bytes per element, 0 for a type the double does not model.
int dtype_size(int dtype);
const char *dtype_name(int dtype);
bool is_floating(int dtype);
bool is_integral(int dtype);  // BOOL excluded

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);
// Rounds v to what dtype can hold (floating: nearest even; integers: toward zero,
// wrapping as a C cast of the in-range value; NaN to 0 as aclnnCast documents).
double round_to(int dtype, double v);

double load(int dtype, const void *base, int64_t index);
void store(int dtype, void *base, int64_t index, double v);

double scalar_value(const aclScalar &s);

// Element offsets (in elements, offset included) of a view in row-major order.
std::vector<int64_t> element_offsets(const aclTensor &t);
// The view read into doubles (row-major), and written back rounded to its dtype.
std::vector<double> read(const aclTensor &t);
void write(const aclTensor &t, const std::vector<double> &v);

// Row-major contiguous strides of dims.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t> &dims);
bool is_contiguous(const aclTensor &t);
// Furthest element (plus one) the view reaches, counted from the storage base.
int64_t view_extent(const std::vector<int64_t> &dims, const std::vector<int64_t> &strides,
                    int64_t offset);
