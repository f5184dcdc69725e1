//! Types this crate adds to the API's own: secret values that never print,
//! enum values newer than this crate, a cloud build's upload fields.

pub(crate) mod secret_value;
pub(crate) mod unknown;
pub(crate) mod upload_fields;
