//! Live mode's widgets: the scrolling views with the running answer's strip, the window they
//! show, the side panel, and the window's own timings. Its state lives with the other modes'
//! (`app::live`).

pub mod frames;
pub mod panel;
pub mod views;
pub mod window;
