//! Live listening: a stream of samples from a device or a file played as if live, its views
//! column by column, and the model's running answer.

pub mod analyser;
pub mod chain;
pub mod onset;
pub mod ring;
pub mod saliency;
pub mod session;
pub mod source;
pub mod stats;
pub mod views;

pub use analyser::{ENVELOPE_BLOCK, LiveAnalyser, LiveConfig};
pub use ring::{ColumnRing, SampleRing};
pub use session::{LivePrediction, LiveSession, LiveState, PREDICTION_HOP_SECS};
pub use source::LiveInput;
pub use stats::{LiveReport, LiveStats};
pub use views::{LiveViews, ViewUpdate};
