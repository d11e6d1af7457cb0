//! File dialogs on a thread of their own, so the window keeps drawing behind them; the answer
//! comes back on a channel and wakes the window.

use std::sync::mpsc::Sender;

use eframe::egui;

/// Runs `ask` with a fresh dialog on its own thread; what it returns, if anything, is sent on `tx`.
pub fn spawn<T: Send + 'static>(
    ctx: &egui::Context,
    tx: Sender<T>,
    ask: impl FnOnce(rfd::FileDialog) -> Option<T> + Send + 'static,
) {
    let ctx = ctx.clone();
    let _ = std::thread::Builder::new().name("file-dialog".into()).spawn(move || {
        if let Some(answer) = ask(rfd::FileDialog::new()) {
            let _ = tx.send(answer);
            ctx.request_repaint();
        }
    });
}
