//! What a model makes of a clip and why: predictions, activity over time, saliency, embeddings
//! and their 2-D maps.

pub mod activity;
pub mod embed;
pub mod predict;
pub mod projection;
pub mod saliency;
