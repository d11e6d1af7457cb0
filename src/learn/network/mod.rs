//! The network: layers and fused CPU kernels, the model and its heads, losses, the optimiser and
//! schedules, model files, and where it all runs.

pub mod fused;
pub mod layers;
pub mod loss;
pub mod mask_head;
pub mod model;
pub mod modelfile;
pub mod optim;
pub mod runtime;
pub mod schedule;
pub mod stage;
