//! Live mode's widgets: the scrolling views with the running answer's strip, the window they
//! show, and the side panel. Its state lives with the other modes' (`app::live`).

pub mod panel;
pub mod views;
pub mod window;
