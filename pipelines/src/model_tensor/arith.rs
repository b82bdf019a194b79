//! `+ - * /` between model tensors and with f64 scalars, returning `Result` as candle's
//! operators do (so `(a + &b)?` and `(x * 0.5)?` read the same on both arms). A scalar
//! divisor becomes a multiplication by its reciprocal, which is what candle computes.

use super::tensor::Tensor;
use candle_core::Result;
use std::ops::{Add, Div, Mul, Sub};

macro_rules! tensor_ops {
    ($trait:ident, $method:ident, $scalar:expr) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(&self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(&self, &rhs)
            }
        }
        impl $trait<Result<Tensor>> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Result<Tensor>) -> Result<Tensor> {
                Tensor::$method(&self, &rhs?)
            }
        }
        impl $trait<Result<Tensor>> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Result<Tensor>) -> Result<Tensor> {
                Tensor::$method(self, &rhs?)
            }
        }
        impl $trait<f64> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: f64) -> Result<Tensor> {
                let (mul, add): (f64, f64) = $scalar(rhs);
                self.affine(mul, add)
            }
        }
        impl $trait<f64> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: f64) -> Result<Tensor> {
                <&Tensor as $trait<f64>>::$method(&self, rhs)
            }
        }
    };
}

tensor_ops!(Add, add, |v| (1.0, v));
tensor_ops!(Sub, sub, |v: f64| (1.0, -v));
tensor_ops!(Mul, mul, |v| (v, 0.0));
tensor_ops!(Div, div, |v: f64| (1.0 / v, 0.0));
