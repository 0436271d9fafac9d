//! Live progress on stderr: a progress bar on a terminal, a plain line every few seconds
//! otherwise (CI logs, redirected output).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Counters, Limit};

const BAR_TICK: Duration = Duration::from_millis(200);
const LINE_EVERY: Duration = Duration::from_secs(5);
const BAR_LENGTH: u64 = 1000;

/// The running display; [`Progress::finish`] clears it.
#[derive(Debug)]
pub struct Progress {
    finished: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing the counters' progress towards the limit.
    pub fn start(counters: Arc<Counters>, limit: Limit) -> Self {
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        let terminal = std::io::stderr().is_terminal();
        let thread = std::thread::Builder::new()
            .name("otelix-perf-progress".into())
            .spawn(move || {
                if terminal {
                    bar(&counters, limit, &done)
                } else {
                    lines(&counters, &done)
                }
            })
            .ok();
        Self { finished, thread }
    }

    /// Stops the display.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.finished.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Tracks the rate over the last interval.
struct Rate {
    at: Instant,
    done: u64,
}

impl Rate {
    fn update(&mut self, done: u64) -> f64 {
        let now = Instant::now();
        let seconds = now.duration_since(self.at).as_secs_f64();
        let rate = if seconds > 0.0 {
            (done - self.done.min(done)) as f64 / seconds
        } else {
            0.0
        };
        *self = Self { at: now, done };
        rate
    }
}

fn bar(counters: &Counters, limit: Limit, finished: &AtomicBool) {
    let bar = ProgressBar::with_draw_target(Some(BAR_LENGTH), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:20}] {percent:>3}% {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let start = Instant::now();
    let mut rate = Rate { at: start, done: 0 };
    let mut shown_rate = 0.0;
    let mut last_rate_at = start;
    while !finished.load(Relaxed) {
        std::thread::sleep(BAR_TICK);
        let done = counters.done.load(Relaxed);
        // Average the rate over a second so the number is readable.
        if last_rate_at.elapsed() >= Duration::from_secs(1) {
            shown_rate = rate.update(done);
            last_rate_at = Instant::now();
        }
        let fraction = match limit {
            Limit::Requests(n) => done as f64 / n as f64,
            Limit::Duration(d) => start.elapsed().as_secs_f64() / d.as_secs_f64(),
        };
        bar.set_position((fraction.clamp(0.0, 1.0) * BAR_LENGTH as f64) as u64);
        bar.set_message(format!(
            "{done} done, {shown_rate:.0}/s, {} errors",
            counters.errors.load(Relaxed)
        ));
    }
    bar.finish_and_clear();
}

fn lines(counters: &Counters, finished: &AtomicBool) {
    let start = Instant::now();
    let mut rate = Rate { at: start, done: 0 };
    let mut next_line = start + LINE_EVERY;
    while !finished.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if Instant::now() >= next_line {
            next_line += LINE_EVERY;
            let done = counters.done.load(Relaxed);
            eprintln!(
                "otelix-perf: {:.0}s: {done} requests, {:.0} req/s, {} errors",
                start.elapsed().as_secs_f64(),
                rate.update(done),
                counters.errors.load(Relaxed)
            );
        }
    }
}
