//! How a run ends: the exit code of an error, and the error that means the
//! command line asked for something that cannot be done as asked.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Bad usage found after parsing (clap reports its own with code 2 too):
/// a missing keyspace, an option this build lacks, a confirmation that no
/// one can give.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A shorthand for returning a [`Usage`] error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// Reports an error on standard error and gives the exit code for it: 2 for
/// bad usage, 0 when standard output was closed by its reader (`taskrec ls
/// LIST | head` is not a failure), 1 for everything else.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if closed_output(error) {
        return ExitCode::SUCCESS;
    }
    // `{:#}`: the error and each of its causes, on one line.
    eprintln!("error: {error:#}");
    if error.downcast_ref::<Usage>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn closed_output(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
