//! Source-tree migration from CUDA-only code to device-portable code.
//!
//! Stands alone in the workspace: no tensor libraries. Tracked by the migrate issues.
