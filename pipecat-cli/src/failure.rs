//! Why a command did not succeed: the one failure type of the commands,
//! its exit code and its JSON document.

/// Why a command did not succeed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// What the library reported (API, transport, refused input, timeout).
    Api(pipecat_api::Error),
    /// Bad arguments or settings; nothing was sent.
    Usage(String),
    /// A destructive command was not confirmed; nothing was sent.
    Refused(String),
    /// Writing the answer failed.
    Internal(String),
    /// Ctrl-C stopped a wait.
    Interrupted(String),
    /// Stdout's reader went away (`| head`): nothing more to show, nothing
    /// to report.
    ClosedPipe,
}

impl From<pipecat_api::Error> for Failure {
    fn from(e: pipecat_api::Error) -> Self {
        Failure::Api(e)
    }
}

impl Failure {
    /// The exit code, from the type: 1 the service or the job failed (or
    /// local I/O did), 2 usage (nothing was sent), 3 a wait timed out.
    pub fn exit_code(&self) -> u8 {
        use pipecat_api::Error;
        match self {
            Failure::Api(e) => match e {
                Error::InvalidRequest { .. } | Error::Config { .. } => 2,
                Error::Timeout { .. } => 3,
                Error::Api(_)
                | Error::Transport { .. }
                | Error::Failed { .. }
                | Error::Storage { .. }
                | Error::UnexpectedResponse { .. }
                | Error::Io { .. }
                | Error::Cancelled { .. } => 1,
                // A kind newer than this CLI: not a usage error.
                _ => 1,
            },
            Failure::Internal(_) => 1,
            Failure::Usage(_) | Failure::Refused(_) => 2,
            Failure::Interrupted(_) => 130,
            Failure::ClosedPipe => 0,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Failure::Api(e) => e.to_string(),
            Failure::Usage(m)
            | Failure::Refused(m)
            | Failure::Internal(m)
            | Failure::Interrupted(m) => m.clone(),
            Failure::ClosedPipe => "stdout was closed".into(),
        }
    }

    /// A word for scripts: which kind of failure this is.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Api(e) => match e {
                pipecat_api::Error::InvalidRequest { .. } => "invalid_request",
                pipecat_api::Error::Config { .. } => "config",
                pipecat_api::Error::Api(_) => "api",
                pipecat_api::Error::Transport { .. } => "transport",
                pipecat_api::Error::Failed { .. } => "failed",
                pipecat_api::Error::Timeout { .. } => "timeout",
                pipecat_api::Error::Io { .. } => "io",
                pipecat_api::Error::Storage { .. } => "storage",
                pipecat_api::Error::Cancelled { .. } => "cancelled",
                _ => "unexpected_response",
            },
            Failure::Usage(_) => "usage",
            Failure::Refused(_) => "refused",
            Failure::Internal(_) | Failure::ClosedPipe => "internal",
            Failure::Interrupted(_) => "interrupted",
        }
    }

    /// The `--output json` document of this failure: `kind`, the HTTP
    /// `status` and the API's `code` (null when there was no answer),
    /// `message` (what stderr says), `request_id` and `exit_code`; for a
    /// failed job or a wait that timed out, `job` (what it was) and
    /// `last_state` (its state as last read, as the API gave it); for a
    /// local I/O failure, `path`.
    pub fn document(&self, message: &str) -> serde_json::Value {
        let api = match self {
            Failure::Api(e) => e.api(),
            _ => None,
        };
        let status = match self {
            Failure::Api(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        };
        let mut doc = serde_json::json!({
            "kind": self.kind(),
            "status": status,
            "code": api.and_then(|a| a.code.clone()),
            "message": message,
            "request_id": api.and_then(|a| a.request_id.clone()),
            "exit_code": self.exit_code(),
        });
        if let (Failure::Api(e), Some(fields)) = (self, doc.as_object_mut()) {
            if let Some((job, last)) = e.job() {
                fields.insert("job".into(), job.to_string().into());
                fields.insert("last_state".into(), last_state(last));
            }
            if let pipecat_api::Error::Io { path, .. } = e {
                fields.insert("path".into(), path.display().to_string().into());
            }
        }
        serde_json::json!({ "error": doc })
    }
}

/// A job's last state as the API gave it (null for a kind newer than this
/// CLI).
fn last_state(last: &pipecat_api::LastState) -> serde_json::Value {
    use pipecat_api::JobState;
    let value = match last.job_state() {
        Some(JobState::SecretSet(set)) => serde_json::to_value(set),
        Some(JobState::Rollout { agent, .. }) => serde_json::to_value(agent),
        Some(JobState::Build(build)) => serde_json::to_value(build),
        _ => Ok(serde_json::Value::Null),
    };
    value.unwrap_or(serde_json::Value::Null)
}
