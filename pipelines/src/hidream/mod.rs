//! HiDream-I1 generation and HiDream-E1 editing (issue 8, being built piece by piece).
//!
//! `size`: the width x height the reference pipeline actually generates for a request.

pub mod size;
