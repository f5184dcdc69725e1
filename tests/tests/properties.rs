//! Property tests, bounded: for any path parameter the request is either
//! refused locally or addresses exactly the intended resource; for any
//! response body, decoding never panics.

// A test stops at the first unexpected result.
#![allow(clippy::unwrap_used, clippy::panic)]

use pipecat_api::{Client, Error, RetryPolicy};
use pipecat_e2e::{call_operation, operations};
use pipecat_fake::{FakeCloud, Fault};
use proptest::prelude::*;

/// The runtime, fake and client of one test: tests run in parallel on
/// their own threads, so each gets its own fake and request counts stay
/// exact. Retries are off: one request per call.
struct Env {
    rt: tokio::runtime::Runtime,
    fake: FakeCloud,
    client: Client,
}

thread_local! {
    static ENV: Env = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let fake = rt.block_on(FakeCloud::start()).unwrap();
        let client = Client::builder()
            .host(fake.url())
            .private_key(fake.private_key())
            .public_key(fake.public_key())
            .retry(RetryPolicy::disabled())
            .build()
            .unwrap();
        Env { rt, fake, client }
    };
}

/// Strings rich in what breaks URLs: dots, slashes, percent signs, `?`, `#`,
/// spaces, unicode; plus arbitrary strings.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(r"[./%?#a-zA-Z0-9_ \-]{0,8}").unwrap(),
        Just(String::new()),
        Just(".".to_string()),
        Just("..".to_string()),
        any::<String>(),
    ]
}

/// The path segments of a recorded request, percent-decoded.
fn decoded_segments(path: &str) -> Vec<String> {
    path.split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn delete_key_is_refused_or_exact(set in nasty(), key in nasty()) {
        ENV.with(|Env { rt, fake, client }| {
        let before = fake.request_count();
        let result = rt.block_on(client.delete_secret_from_set().set_name(set.as_str()).secret_key(key.as_str()).send());
        match result {
            Err(Error::InvalidRequest { .. }) => prop_assert_eq!(fake.request_count(), before),
            _ => {
                let requests = fake.requests();
                prop_assert_eq!(requests.len(), before + 1);
                let sent = &requests[before];
                prop_assert_eq!(sent.method.as_str(), "DELETE");
                prop_assert_eq!(decoded_segments(&sent.path), vec![String::new(), "v1".into(), "secrets".into(), set, key]);
            }
        }
        Ok(())
        })?;
    }

    #[test]
    fn agent_names_are_refused_or_exact(name in nasty()) {
        ENV.with(|Env { rt, fake, client }| {
            let before = fake.request_count();
            let result = rt.block_on(client.get_service().agent_name(name.as_str()).send());
            match result {
                Err(Error::InvalidRequest { .. }) => prop_assert_eq!(fake.request_count(), before),
                _ => {
                    let requests = fake.requests();
                    prop_assert_eq!(requests.len(), before + 1);
                    prop_assert_eq!(decoded_segments(&requests[before].path), vec![String::new(), "v1".into(), "agents".into(), name]);
                }
            }
            Ok(())
        })?;
    }

    /// The proxy path spans segments: `/` separates them, and whatever else
    /// the path holds stays inside its segment.
    #[test]
    fn proxy_paths_are_refused_or_exact(segments in proptest::collection::vec(nasty(), 1..4)) {
        ENV.with(|Env { rt, fake, client }| {
            let path = segments.join("/");
            let session = pipecat_api::uuid::Uuid::nil();
            let before = fake.request_count();
            let result = rt.block_on(client.session_proxy(pipecat_api::Method::GET, "voice-bot", session, &path).send());
            match result {
                Err(Error::InvalidRequest { .. }) => prop_assert_eq!(fake.request_count(), before),
                _ => {
                    let requests = fake.requests();
                    prop_assert_eq!(requests.len(), before + 1);
                    let mut expected: Vec<String> = vec![
                        String::new(), "v1".into(), "public".into(), "voice-bot".into(), "sessions".into(), session.to_string(),
                    ];
                    // A leading `/` is dropped: the path is relative to the session.
                    let relative = path.strip_prefix('/').unwrap_or(&path);
                    expected.extend(relative.split('/').map(String::from));
                    prop_assert_eq!(decoded_segments(&requests[before].path), expected);
                    prop_assert_eq!(requests[before].query.as_deref(), None);
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn delete_set_is_refused_or_exact(set in nasty()) {
        ENV.with(|Env { rt, fake, client }| {
        let before = fake.request_count();
        let result = rt.block_on(client.delete_secret_set().set_name(set.as_str()).send());
        match result {
            Err(Error::InvalidRequest { .. }) => prop_assert_eq!(fake.request_count(), before),
            _ => {
                let requests = fake.requests();
                prop_assert_eq!(requests.len(), before + 1);
                prop_assert_eq!(decoded_segments(&requests[before].path), vec![String::new(), "v1".into(), "secrets".into(), set]);
            }
        }
        Ok(())
        })?;
    }

    #[test]
    fn any_success_body_of_any_operation_decodes_or_errs_without_panicking(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            arb_json().prop_map(|v| v.to_string().into_bytes()),
        ],
        which in 0usize..31,
    ) {
        ENV.with(|Env { rt, fake, client }| {
            let ops = operations();
            let (op, status) = ops[which % ops.len()].clone();
            let op = op.as_str();
            fake.fail_next(op.parse().unwrap(), 1, Fault::Respond { status, content_type: Some("application/json".into()), headers: Vec::new(), body });
            let _ = rt.block_on(call_operation(client, op, pipecat_api::uuid::Uuid::nil()));
        })
    }
}

/// Arbitrary JSON, biased towards the shapes the API answers with.
fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        prop_oneof![
            Just("ready".to_string()),
            Just("OK".to_string()),
            ".{0,12}".prop_map(String::from)
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            Just("sets".to_string()),
            Just("status".to_string()),
            Just("secrets".to_string()),
            Just("region".to_string()),
            Just("fieldName".to_string()),
            Just("name".to_string()),
            "[a-z]{1,6}".prop_map(String::from),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
