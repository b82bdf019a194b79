//! Model components shared by the pipelines, laid out like diffusers' `models/`: the
//! AutoencoderKL, the ResNet, down- and upsampling blocks, and the timestep embedding.

pub mod autoencoders;
pub mod embeddings;
pub mod resnet;
