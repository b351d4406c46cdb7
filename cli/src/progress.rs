//! Progress bars on standard error, drawn only on a terminal: a pipe or a
//! file gets no escape codes and no carriage returns.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar towards `total` items, labelled `what` ("exported", "retried").
pub fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = drawn_or_hidden(Some(total));
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {human_pos}/{human_len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A counter for work of unknown size, labelled `what`.
pub fn counter(what: &str) -> ProgressBar {
    let bar = drawn_or_hidden(None);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {human_pos} ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_owned());
    bar
}

fn drawn_or_hidden(total: Option<u64>) -> ProgressBar {
    // indicatif's stderr target also hides itself off a terminal; deciding
    // here makes that a property of this program, whatever its version does.
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    // A spinner that moves while a slow page loads shows the tool is alive.
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
