//! Starting sessions: request shorthands per transport, and what the answer
//! means for each; calling a running bot through the service (`proxy`).

use base64::Engine as _;

pub(crate) mod proxy;

use crate::types::{StartRequest, StartRequestTransport, StartResponse, StartResponseIceConfig};
use crate::{Error, SecretValue};

impl StartRequest {
    /// A session on a new Daily room (the service creates the room and a
    /// meeting token for the caller).
    pub fn daily() -> Self {
        StartRequest {
            create_daily_room: true,
            transport: Some(StartRequestTransport::Daily),
            ..Self::empty()
        }
    }

    /// A session the caller reaches over WebRTC, with the service's default
    /// ICE servers.
    pub fn webrtc() -> Self {
        StartRequest {
            enable_default_ice_servers: true,
            transport: Some(StartRequestTransport::Webrtc),
            ..Self::empty()
        }
    }

    /// A session the caller reaches over a WebSocket (the answer has a
    /// single-use `token` and `wsUrl`, valid for 5 minutes).
    pub fn websocket() -> Self {
        StartRequest {
            transport: Some(StartRequestTransport::Websocket),
            ..Self::empty()
        }
    }

    /// The same request, handing `body` to the bot when it starts (at most
    /// 1 MB; 4 KB for WebSocket sessions). It must be a JSON object.
    pub fn with_body(mut self, body: serde_json::Value) -> Result<Self, Error> {
        match body {
            serde_json::Value::Object(map) => {
                self.body = map;
                Ok(self)
            }
            other => Err(Error::InvalidRequest {
                message: format!("body: must be a JSON object, not {}", json_kind(&other)),
            }),
        }
    }

    fn empty() -> Self {
        StartRequest {
            body: Default::default(),
            create_daily_room: false,
            daily_meeting_token_properties: Default::default(),
            daily_room_properties: Default::default(),
            enable_default_ice_servers: false,
            transport: None,
        }
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// How to reach a started session, by transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Connection<'a> {
    /// Join this Daily room with this meeting token.
    Daily {
        /// The room URL.
        room: &'a str,
        /// The meeting token, when one was issued (`expose_secret()` gives
        /// the text; `Debug` does not).
        token: Option<&'a SecretValue>,
    },
    /// Connect over WebRTC using these ICE servers.
    WebRtc {
        /// The ICE configuration.
        ice_config: &'a StartResponseIceConfig,
    },
    /// Open a WebSocket to `url`, presenting `token`.
    WebSocket {
        /// The WebSocket URL.
        url: &'a str,
        /// The single-use token (`expose_secret()` gives the text; `Debug`
        /// does not).
        token: &'a SecretValue,
    },
    /// The answer names no transport details (e.g. a session without a
    /// room): talk to the bot through the session proxy.
    ProxyOnly,
}

impl StartResponse {
    /// How to reach the session, from whichever fields the answer carries.
    pub fn connection(&self) -> Connection<'_> {
        if let (Some(url), Some(token)) = (&self.ws_url, &self.token) {
            return Connection::WebSocket { url, token };
        }
        if let Some(room) = &self.daily_room {
            return Connection::Daily {
                room,
                token: self.daily_token.as_ref(),
            };
        }
        if let Some(ice_config) = &self.ice_config {
            return Connection::WebRtc { ice_config };
        }
        Connection::ProxyOnly
    }

    /// The session id as a UUID, for the session proxy and `getSession`.
    pub fn session_uuid(&self) -> Result<uuid::Uuid, Error> {
        let id = self.session_id.as_deref().unwrap_or_default();
        uuid::Uuid::parse_str(id).map_err(|e| Error::UnexpectedResponse {
            status: None,
            message: format!("sessionId {id:?} is not a UUID: {e}"),
        })
    }

    /// The `body` echoed back by the service, decoded from base64 (empty
    /// when there was none).
    pub fn decoded_body(&self) -> Result<Vec<u8>, Error> {
        let Some(body) = &self.body else {
            return Ok(Vec::new());
        };
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| Error::UnexpectedResponse {
                status: None,
                message: format!("body is not base64: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_per_transport() {
        let daily = serde_json::to_value(StartRequest::daily()).unwrap();
        assert_eq!(
            daily,
            json!({"createDailyRoom": true, "enableDefaultIceServers": false, "transport": "daily"})
        );
        let ws = StartRequest::websocket()
            .with_body(json!({"caller": "+1555"}))
            .unwrap();
        assert_eq!(
            serde_json::to_value(ws).unwrap(),
            json!({"body": {"caller": "+1555"}, "createDailyRoom": false, "enableDefaultIceServers": false, "transport": "websocket"})
        );
        let err = StartRequest::webrtc().with_body(json!([1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request not sent: body: must be a JSON object, not an array"
        );
    }

    #[test]
    fn connection_follows_the_fields() {
        let r: StartResponse = serde_json::from_value(json!({
            "sessionId": "01234567-89ab-cdef-0123-456789abcdef",
            "wsUrl": "wss://x/ws", "token": "t", "body": "eyJhIjoxfQ=="
        }))
        .unwrap();
        assert!(matches!(
            r.connection(),
            Connection::WebSocket {
                url: "wss://x/ws",
                token
            } if token.expose_secret() == "t"
        ));
        assert!(!format!("{:?}", r.connection()).contains("\"t\""));
        assert_eq!(r.decoded_body().unwrap(), br#"{"a":1}"#);
        assert_eq!(
            r.session_uuid().unwrap().to_string(),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        let r: StartResponse =
            serde_json::from_value(json!({"dailyRoom": "https://d/r", "dailyToken": "k"})).unwrap();
        assert!(matches!(
            r.connection(),
            Connection::Daily {
                room: "https://d/r",
                token: Some(token)
            } if token.expose_secret() == "k"
        ));
        assert!(r.session_uuid().is_err());
    }
}
