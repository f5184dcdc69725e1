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
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Api(
                pipecat_api::Error::InvalidRequest { .. } | pipecat_api::Error::Config { .. },
            ) => 2,
            Failure::Api(pipecat_api::Error::Timeout { .. }) => 3,
            Failure::Api(_) | Failure::Internal(_) => 1,
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
    /// `message` (what stderr says), `request_id` and `exit_code`.
    pub fn document(&self, message: &str) -> serde_json::Value {
        let api = match self {
            Failure::Api(e) => e.api(),
            _ => None,
        };
        let status = match self {
            Failure::Api(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        };
        serde_json::json!({
            "error": {
                "kind": self.kind(),
                "status": status,
                "code": api.and_then(|a| a.code.clone()),
                "message": message,
                "request_id": api.and_then(|a| a.request_id.clone()),
                "exit_code": self.exit_code(),
            }
        })
    }
}
