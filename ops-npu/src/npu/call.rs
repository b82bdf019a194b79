//! One general aclnn op call, built argument by argument in the vendor prototype's order
//! (less workspaceSize and executor). The C++ side checks the arguments against the
//! prototype, creates the nnopbase objects, runs both phases with a pooled workspace and
//! destroys what it created.

use super::dtype::NpuDType;
use super::stream::NpuStream;
use super::tensor::NpuTensor;
use crate::bridge::ffi;
use crate::error::{Result, backend};
use std::sync::Arc;

/// Argument kinds; mirrors the enum in csrc/npu_call.cc (whose 6, a double, no general
/// op takes yet).
#[derive(Clone, Copy)]
#[repr(u8)]
enum Kind {
    Absent = 0,
    Tensor = 1,
    TensorList = 2,
    IntArray = 3,
    Scalar = 4,
    Int = 5,
    Bool = 7,
    DType = 8,
}

/// A value for an aclScalar argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A floating value, passed as an ACL FLOAT scalar (f32).
    F32(f64),
    I64(i64),
}

pub(crate) struct OpCall<'a> {
    op: &'static str,
    args: Vec<ffi::NpuArg>,
    tensors: Vec<&'a NpuTensor>,
}

impl<'a> OpCall<'a> {
    pub(crate) fn new(op: &'static str) -> Self {
        Self {
            op,
            args: Vec::new(),
            tensors: Vec::new(),
        }
    }

    fn push(mut self, kind: Kind, f: impl FnOnce(&mut ffi::NpuArg)) -> Self {
        let mut a = ffi::NpuArg {
            kind: kind as u8,
            ..Default::default()
        };
        f(&mut a);
        self.args.push(a);
        self
    }

    /// An input or output tensor.
    pub(crate) fn tensor(mut self, t: &'a NpuTensor) -> Self {
        self.tensors.push(t);
        self.push(Kind::Tensor, |a| a.tensors = vec![t.desc()])
    }

    /// An optional tensor: absent (a null pointer) when `None`.
    pub(crate) fn optional(self, t: Option<&'a NpuTensor>) -> Self {
        match t {
            Some(t) => self.tensor(t),
            None => self.push(Kind::Absent, |_| {}),
        }
    }

    pub(crate) fn tensor_list(mut self, ts: &[&'a NpuTensor]) -> Self {
        self.tensors.extend_from_slice(ts);
        self.push(Kind::TensorList, |a| {
            a.tensors = ts.iter().map(|t| t.desc()).collect()
        })
    }

    pub(crate) fn int_array(self, v: &[i64]) -> Self {
        self.push(Kind::IntArray, |a| a.ints = v.to_vec())
    }

    pub(crate) fn scalar(self, v: Scalar) -> Self {
        self.push(Kind::Scalar, |a| match v {
            Scalar::F32(x) => {
                a.number = x;
                a.dtype = NpuDType::F32.acl_code();
            }
            Scalar::I64(i) => {
                a.integer = i;
                a.dtype = NpuDType::I64.acl_code();
            }
        })
    }

    pub(crate) fn int(self, v: i64) -> Self {
        self.push(Kind::Int, |a| a.integer = v)
    }

    pub(crate) fn bool(self, v: bool) -> Self {
        self.push(Kind::Bool, |a| a.integer = i64::from(v))
    }

    pub(crate) fn dtype(self, d: NpuDType) -> Self {
        self.push(Kind::DType, |a| a.dtype = d.acl_code())
    }

    /// Launches on `s` (asynchronously; downloads synchronise).
    pub(crate) fn launch(self, s: &NpuStream) -> Result<()> {
        ffi::npu_call(s.raw(), self.op, &self.args).map_err(backend)?;
        let blocks: Vec<&Arc<_>> = self.tensors.iter().map(|t| t.block()).collect();
        s.launched(&blocks);
        Ok(())
    }
}
