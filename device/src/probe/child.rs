//! Running a command with a deadline: output kept to a bounded tail, the child killed
//! when the deadline passes, and its end described (exit code, signal, timeout).

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes kept of each output stream: the report line is short, but a vendor library may
/// log without limit, and only the end (the report, the last error) matters.
const KEEP: usize = 256 * 1024;

/// How long to wait for the output pipes after the child ended: a grandchild that
/// inherited them (a daemon the library forked) must not hold doctor up.
const PIPE_GRACE: Duration = Duration::from_millis(500);

const POLL: Duration = Duration::from_millis(10);

/// How the child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    /// Killed by this signal (number and name).
    Signalled(i32, String),
    /// Still running at the deadline, so it was killed.
    TimedOut(Duration),
    /// It could not be started.
    NotStarted(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exited(code) => write!(f, "exited with status {code}"),
            End::Signalled(_, name) => write!(f, "crashed with {name}"),
            End::TimedOut(limit) => {
                write!(
                    f,
                    "timed out after {} s and was killed",
                    limit.as_secs_f64()
                )
            }
            End::NotStarted(why) => write!(f, "could not be started: {why}"),
        }
    }
}

/// What a finished (or killed) child left.
#[derive(Debug, Clone)]
pub struct Finished {
    pub end: End,
    /// The last [`KEEP`] bytes of stdout.
    pub stdout: Vec<u8>,
    /// The last [`KEEP`] bytes of stderr.
    pub stderr: Vec<u8>,
}

type Tail = Arc<Mutex<Vec<u8>>>;

/// Reads `source` to its end on a thread, keeping the last [`KEEP`] bytes; the returned
/// receiver hears once the stream closed.
fn drain(mut source: impl Read + Send + 'static) -> (Tail, mpsc::Receiver<()>) {
    let tail: Tail = Arc::default();
    let (done, closed) = mpsc::channel();
    let sink = Arc::clone(&tail);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = source.read(&mut chunk) {
            if n == 0 {
                break;
            }
            if let Ok(mut kept) = sink.lock() {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > KEEP {
                    let excess = kept.len() - KEEP;
                    kept.drain(..excess);
                }
            }
        }
        let _ = done.send(());
    });
    (tail, closed)
}

fn wait_until(child: &mut Child, deadline: Instant, limit: Duration) -> End {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return describe(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return End::TimedOut(limit);
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return End::NotStarted(format!("waiting for it failed: {e}"));
            }
        }
    }
}

/// Runs `command` with stdin closed and both outputs captured; kills it once `limit`
/// has passed. Never blocks longer than `limit` plus a short grace for the pipes.
pub fn run(mut command: Command, limit: Duration) -> Finished {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Finished {
                end: End::NotStarted(e.to_string()),
                stdout: Vec::new(),
                stderr: Vec::new(),
            };
        }
    };
    let deadline = Instant::now() + limit;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let end = wait_until(&mut child, deadline, limit);
    let collect = |stream: Option<(Tail, mpsc::Receiver<()>)>| {
        let Some((tail, closed)) = stream else {
            return Vec::new();
        };
        let _ = closed.recv_timeout(PIPE_GRACE);
        tail.lock().map(|t| t.clone()).unwrap_or_default()
    };
    Finished {
        end,
        stdout: collect(stdout),
        stderr: collect(stderr),
    }
}

#[cfg(unix)]
fn describe(status: ExitStatus) -> End {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => End::Exited(code),
        (None, Some(signal)) => End::Signalled(signal, signal_name(signal)),
        (None, None) => End::Exited(-1),
    }
}

#[cfg(not(unix))]
fn describe(status: ExitStatus) -> End {
    End::Exited(status.code().unwrap_or(-1))
}

/// "SIGBUS (bus error)" and so on; the numbers differ between architectures, so they
/// come from libc rather than a table of our own.
#[cfg(unix)]
pub fn signal_name(signal: i32) -> String {
    let known: &[(i32, &str, &str)] = &[
        (libc::SIGSEGV, "SIGSEGV", "invalid memory access"),
        (
            libc::SIGBUS,
            "SIGBUS",
            "bus error, e.g. a truncated library file mapped past its end",
        ),
        (libc::SIGABRT, "SIGABRT", "aborted"),
        (libc::SIGILL, "SIGILL", "illegal instruction"),
        (libc::SIGFPE, "SIGFPE", "arithmetic fault"),
        (libc::SIGKILL, "SIGKILL", "killed"),
        (libc::SIGTERM, "SIGTERM", "terminated"),
        (libc::SIGTRAP, "SIGTRAP", "trap"),
        (libc::SIGSYS, "SIGSYS", "bad system call"),
        (libc::SIGPIPE, "SIGPIPE", "broken pipe"),
    ];
    match known.iter().find(|(n, ..)| *n == signal) {
        Some((_, name, meaning)) => format!("{name} ({meaning})"),
        None => format!("signal {signal}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_signal_is_named() {
        let done = run(sh("kill -SEGV $$"), Duration::from_secs(20));
        assert!(
            matches!(&done.end, End::Signalled(_, name) if name.starts_with("SIGSEGV")),
            "{:?}",
            done.end
        );
        assert!(done.end.to_string().contains("crashed with SIGSEGV"));
        let done = run(sh("kill -BUS $$"), Duration::from_secs(20));
        assert!(done.end.to_string().contains("SIGBUS"), "{:?}", done.end);
    }

    #[test]
    fn a_hang_is_killed_at_the_deadline() {
        let start = Instant::now();
        let done = run(
            sh("echo started; exec sleep 60"),
            Duration::from_millis(300),
        );
        assert_eq!(done.end, End::TimedOut(Duration::from_millis(300)));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(done.stdout, b"started\n");
    }

    #[test]
    fn a_grandchild_holding_the_pipes_does_not_hold_the_caller() {
        let start = Instant::now();
        let done = run(sh("sleep 5 & echo out; exit 3"), Duration::from_secs(20));
        assert_eq!(done.end, End::Exited(3));
        assert_eq!(done.stdout, b"out\n");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn output_is_kept_to_its_tail() {
        let done = run(
            sh("head -c 1000000 /dev/zero; echo; echo last line >&2; echo end"),
            Duration::from_secs(20),
        );
        assert_eq!(done.end, End::Exited(0));
        assert_eq!(done.stdout.len(), KEEP);
        assert!(done.stdout.ends_with(b"\nend\n"));
        assert_eq!(done.stderr, b"last line\n");
    }

    #[test]
    fn a_missing_program_is_not_started() {
        let done = run(
            Command::new("/nonexistent/doctor-probe"),
            Duration::from_secs(1),
        );
        assert!(matches!(done.end, End::NotStarted(_)), "{:?}", done.end);
    }
}
