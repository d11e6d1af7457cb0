//! Helpers of the window's tests under egui_kittest.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use timbrescope::ui::Workbench;

/// Steps the app until `done` holds (background work arrives through channels).
pub fn step_until(harness: &mut Harness<'_, Workbench>, what: &str, done: impl Fn(&Workbench) -> bool) {
    let start = Instant::now();
    while !done(harness.state()) {
        assert!(start.elapsed() < Duration::from_secs(60), "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(3);
}
