//! The notes and what the network reads of them: the views in dB, standardised and pooled, the
//! feature store, augmentations in the feature domain, the mixtures and the batches.

pub mod augment;
pub mod batch;
pub mod floor;
pub mod inputs;
pub mod moments;
pub mod polyphony;
pub mod store;
