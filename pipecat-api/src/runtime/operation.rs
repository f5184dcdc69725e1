//! What the runtime knows of one operation of the spec. The generated code
//! holds the table (`generated::operations`, one constant per operation,
//! written by `cargo xtask gen` from the spec); the type lives here, so
//! that the runtime that sends a call (`transport`, `guard`, `config`)
//! depends on this module and not on the generated code that calls it.

use crate::runtime::auth::KeyKind;

/// One operation of the spec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operation {
    /// The spec's operationId.
    pub(crate) id: &'static str,
    pub(crate) method: &'static str,
    /// The path template below the base URL (`/secrets/{setName}`).
    pub(crate) path: &'static str,
    /// The key it is sent with.
    pub(crate) key: KeyKind,
    /// A 409 `CONFLICT` answer means "busy, try again" (retried).
    pub(crate) conflict_means_busy: bool,
    /// A 429 answer means the agent is at capacity (retried only when the
    /// caller opts in).
    pub(crate) too_many_means_at_capacity: bool,
    /// Implemented by hand beside the generated code.
    pub(crate) hand_written: bool,
}
