//! Helpers shared by the batching crate's integration tests.

#![allow(dead_code)]

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

/// Lets a test hold a test model's next run: [`RunGate::hold`] arms it, and the model calls
/// [`RunGate::pass`] at the start of every run. The armed run announces itself and waits for the
/// test's release; later runs pass straight through.
#[derive(Default)]
pub struct RunGate(Mutex<Option<(Sender<()>, Receiver<()>)>>);

impl RunGate {
    /// Arms the gate for the next run: returns the receiver on which that run announces itself
    /// and the sender that releases it.
    pub fn hold(&self) -> (Receiver<()>, Sender<()>) {
        let (entered_tx, entered_rx) = channel();
        let (release_tx, release_rx) = channel();
        *self.0.lock().unwrap() = Some((entered_tx, release_rx));
        (entered_rx, release_tx)
    }

    /// Called by the model at the start of a run; blocks an armed run until it is released.
    pub fn pass(&self) {
        // Taken out of the lock, so the test (and other runs) can go on.
        let armed = self.0.lock().unwrap().take();
        if let Some((entered, release)) = armed {
            entered.send(()).unwrap();
            release.recv().unwrap();
        }
    }
}
