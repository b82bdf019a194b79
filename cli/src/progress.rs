//! Progress on stderr: one bar style for denoising steps, and one reporter for HiDream's
//! generate and edit events, so `hidream` and the `hidream-edit` example show a run the
//! same way.
//!
//! A stage line that arrives while the bar is drawn (the refine transformer's load, in the
//! middle of an edit) is printed through `ProgressBar::suspend`: indicatif's own `println`
//! prints nothing when stderr is not a terminal, and those lines must reach logs and tests.

use indicatif::{ProgressBar, ProgressStyle};
use pipelines::hidream::edit_job::EditEvent;
use std::fmt::Display;

/// A bar of denoising steps; its message (say " (refine)") follows the count.
pub fn step_bar(steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps{msg} [{elapsed_precise}, {per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// A running count of bytes (weights uploaded to a device), with `what` before it.
pub fn bytes_bar(what: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg}: {bytes} [{elapsed_precise}, {bytes_per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.into());
    bar
}

/// Stage lines and a step bar for one HiDream run. The bar appears with
/// [`Progress::start_steps`] or the first step and is cleared when the reporter is dropped,
/// so loading stages before it print as plain lines.
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Steps only: no stage or size lines (for runs whose caller wants stderr quiet, like
    /// `hidream-edit --json`).
    pub fn steps_only() -> Self {
        Self {
            bar: None,
            quiet: true,
        }
    }

    /// A line on stderr that does not tear the bar.
    pub fn stage(&self, line: impl Display) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// A line on stderr even when quiet: what was done to the user's input is never hidden.
    pub fn notice(&self, line: impl Display) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Shows the bar before the first step finishes (a HiDream step can take minutes).
    pub fn start_steps(&mut self, total: usize) {
        self.bar.get_or_insert_with(|| step_bar(total));
    }

    /// One step done; `refining` marks the bar for the rest of the run.
    pub fn step(&mut self, total: usize, refining: bool) {
        let bar = self.bar.get_or_insert_with(|| step_bar(total));
        if refining {
            bar.set_message(" (refine)");
        }
        bar.inc(1);
    }

    /// What `pipelines::hidream::edit_job::run_edit_job` reports.
    pub fn edit(&mut self, event: EditEvent<'_>) {
        match event {
            EditEvent::Sized { width, height } => {
                self.stage(format!("editing at {width}x{height}"))
            }
            EditEvent::Stage(stage) => self.stage(stage),
            EditEvent::Note(note) => self.notice(format!("source image: {note}")),
            EditEvent::Step(p) => self.step(p.total, p.refining),
        }
    }

    /// What `pipelines::hidream::generate::denoise` reports.
    pub fn generate_step(&mut self, p: pipelines::hidream::generate::StepProgress) {
        self.step(p.steps, false);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
