//! Subcommands. Each module has an `Args` (clap) and `run(Args) -> anyhow::Result<()>`.

pub mod caption;
pub mod features;
pub mod info;
pub mod quantize;
pub mod transcribe;
pub mod wake;
pub mod wake_eval;

/// Attach to an error (`anyhow::Error::new(ExitStatus(2)).context(..)` or via
/// [`with_status`]) to choose the process exit code; any other error exits with 1.
#[derive(Debug)]
pub struct ExitStatus(pub u8);

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}
impl std::error::Error for ExitStatus {}

/// An error with message `msg` that makes the process exit with `code`.
pub fn with_status(code: u8, msg: impl std::fmt::Display + Send + Sync + 'static) -> anyhow::Error {
    anyhow::Error::new(ExitStatus(code)).context(msg)
}
