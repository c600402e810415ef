//! Runs one step's command on the worker: its own process group, stdout and stderr streamed
//! as they come, killed with its whole group on timeout or interrupt.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::protocol::{RunStep, StepError, Stream, WorkerMsg};

/// Largest piece of output sent in one message.
const READ_SIZE: usize = 32 * 1024;

/// Runs `step` under `basedir`, sending its output and its end to `out`. Resolves when the
/// command has finished (or been killed) and `StepFinished` has been sent. Sending on
/// `interrupt` kills the process group.
pub async fn run(basedir: &Path, step: RunStep, out: mpsc::Sender<WorkerMsg>, interrupt: oneshot::Receiver<()>) {
    let token = step.step;
    let finished = |exit_code, error| WorkerMsg::StepFinished { step: token, exit_code, error };
    let workdir = basedir.join(&step.workdir);
    if let Err(e) = tokio::fs::create_dir_all(&workdir).await {
        let msg = format!("cannot create working directory {}: {e}", workdir.display());
        let _ = out.send(finished(None, Some(StepError::Spawn(msg)))).await;
        return;
    }
    let Some((program, args)) = step.argv.split_first() else {
        let _ = out.send(finished(None, Some(StepError::Spawn("empty command".into())))).await;
        return;
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(&step.env)
        .current_dir(&workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let msg = format!("cannot run {program}: {e}");
            let _ = out.send(finished(None, Some(StepError::Spawn(msg)))).await;
            return;
        }
    };
    let pid = child.id();
    let readers = [
        child.stdout.take().map(|s| tokio::spawn(pump(s, Stream::Stdout, token, out.clone()))),
        child.stderr.take().map(|s| tokio::spawn(pump(s, Stream::Stderr, token, out.clone()))),
    ];
    let timeout = step.timeout.map(Duration::from_secs).unwrap_or(Duration::MAX);
    let mut error = None;
    let status = tokio::select! {
        status = child.wait() => status.ok(),
        _ = tokio::time::sleep(timeout) => {
            kill_group(pid);
            error = Some(StepError::Timeout(format!("command timed out after {} seconds", timeout.as_secs())));
            child.wait().await.ok()
        }
        Ok(()) = interrupt => {
            kill_group(pid);
            error = Some(StepError::Interrupted("interrupted".into()));
            child.wait().await.ok()
        }
    };
    // Children of the command that kept the pipes open would keep the readers alive.
    kill_group(pid);
    for reader in readers.into_iter().flatten() {
        let _ = reader.await;
    }
    let exit_code = status.and_then(|s| s.code());
    let _ = out.send(finished(exit_code, error)).await;
}

async fn pump<R: AsyncRead + Unpin>(mut reader: R, stream: Stream, step: u64, out: mpsc::Sender<WorkerMsg>) {
    let mut buf = vec![0u8; READ_SIZE];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        // Keep an incomplete UTF-8 sequence at the end for the next read.
        let cut = utf8_boundary(&pending);
        let data = String::from_utf8_lossy(&pending[..cut]).into_owned();
        pending.drain(..cut);
        if out.send(WorkerMsg::Output { step, stream, data }).await.is_err() {
            return;
        }
    }
    if !pending.is_empty() {
        let data = String::from_utf8_lossy(&pending).into_owned();
        let _ = out.send(WorkerMsg::Output { step, stream, data }).await;
    }
}

/// The length of the longest prefix that does not end inside a UTF-8 sequence.
pub fn utf8_boundary(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=3.min(len) {
        let b = bytes[len - back];
        if b & 0xC0 != 0x80 {
            // `b` starts a sequence (or is ASCII): is that sequence complete?
            let need = if b >= 0xF0 {
                4
            } else if b >= 0xE0 {
                3
            } else if b >= 0xC0 {
                2
            } else {
                1
            };
            return if need > back { len - back } else { len };
        }
    }
    len
}

fn kill_group(pid: Option<u32>) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run_collect(argv: &[&str], timeout: Option<u64>) -> (String, Option<i32>, Option<StepError>) {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let (_itx, irx) = oneshot::channel();
        let step = RunStep {
            step: 1,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: [("GREETING".to_string(), "hi".to_string())].into(),
            workdir: "build".into(),
            timeout,
        };
        let base = dir.path().to_path_buf();
        tokio::spawn(async move { run(&base, step, tx, irx).await });
        let mut text = String::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                WorkerMsg::Output { data, .. } => text.push_str(&data),
                WorkerMsg::StepFinished { exit_code, error, .. } => return (text, exit_code, error),
                _ => {}
            }
        }
        unreachable!("no StepFinished")
    }

    #[tokio::test]
    async fn runs_a_command_with_env_in_its_workdir() {
        let (text, code, err) = run_collect(&["sh", "-c", "echo $GREETING; basename $(pwd); exit 3"], None).await;
        assert_eq!(text, "hi\nbuild\n");
        assert_eq!(code, Some(3));
        assert_eq!(err, None);
    }

    #[tokio::test]
    async fn a_step_past_its_timeout_is_killed_with_its_children() {
        let (_, code, err) = run_collect(&["sh", "-c", "sleep 30 & sleep 30"], Some(1)).await;
        assert_eq!(code, None);
        assert!(matches!(err, Some(StepError::Timeout(_))), "{err:?}");
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error() {
        let (_, code, err) = run_collect(&["/nonexistent/program"], None).await;
        assert_eq!(code, None);
        assert!(matches!(err, Some(StepError::Spawn(_))), "{err:?}");
    }

    #[test]
    fn utf8_boundary_keeps_incomplete_sequences() {
        assert_eq!(utf8_boundary(b"abc"), 3);
        let e = "é".as_bytes();
        assert_eq!(utf8_boundary(&[b'a', e[0]]), 1);
        assert_eq!(utf8_boundary(&[b'a', e[0], e[1]]), 3);
    }
}
