//! The dicts that meta events and meta procedures share: a session's details, a subscription's
//! or registration's description, and the two halves of an `on_stats` event — each built in one
//! place, with Crossbar's keys in Crossbar's order.

use std::time::SystemTime;

use wamp::{Dict, Id, MatchPolicy, Value, dict};

use crate::dealer::InvokePolicy;
use wamp::transport::TransportInfo;

use crate::session_handle::SessionHandle;
use crate::stats::Cycle;

/// `created` as Crossbar writes it: ISO 8601 UTC with milliseconds, e.g. `2026-11-25T19:55:37.999Z`.
pub fn iso8601(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The `wamp.subscription.get` dict (and `on_create`'s).
pub fn subscription_dict(id: Id, created: SystemTime, uri: &str, policy: MatchPolicy) -> Dict {
    dict! {
        "id" => id,
        "created" => iso8601(created),
        "uri" => uri,
        "match" => policy.as_str(),
    }
}

/// The `wamp.registration.get` dict (and `on_create`'s): a subscription's, with `invoke`.
pub fn registration_dict(
    id: Id,
    created: SystemTime,
    uri: &str,
    policy: MatchPolicy,
    invoke: InvokePolicy,
) -> Dict {
    let mut d = subscription_dict(id, created, uri, policy);
    d.insert("invoke".into(), invoke.as_str().into());
    d
}

/// The `info` of an `on_stats` event.
pub fn stats_info(s: &SessionHandle) -> Dict {
    dict! {
        "realm" => s.realm.as_str(),
        "session" => s.id,
        "authid" => s.authid.as_str(),
        "authrole" => s.authrole.as_str(),
    }
}

/// The `stats` of an `on_stats` event: Crossbar's keys, then **[ours]** the rx/tx split and
/// the EVENTs dropped in the cycle (realm option `slow_consumer: "drop"`).
pub fn stats_dict(s: &SessionHandle, c: &Cycle) -> Dict {
    let n = &c.counters;
    dict! {
        "cycle" => c.cycle,
        "serializer" => s.serializer().name(),
        "timestamp" => c.timestamp_ns,
        "duration" => c.duration_ns,
        "bytes" => n.bytes(),
        "messages" => n.messages(),
        "rated_messages" => n.rated_messages,
        "first" => c.first,
        "last" => c.last,
        "bytes_rx" => n.bytes_rx,
        "bytes_tx" => n.bytes_tx,
        "messages_rx" => n.messages_rx,
        "messages_tx" => n.messages_tx,
        "dropped" => n.dropped,
    }
}

/// **[ours]** The second argument of `wampstat.session.on_slow`.
pub fn slow_dict(s: &crate::session_handle::Slowness) -> Dict {
    dict! {
        "queued" => s.queued as u64,
        "dropped" => s.dropped,
        "policy" => s.policy.as_str(),
        "dropping" => s.dropping,
    }
}

/// This machine's host name (`x_cb_node` of a router without a `cluster` block), read once.
pub fn host_name() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(read_host_name).clone()
}

fn read_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// **[ours]** Request headers whose values other sessions must not read (Crossbar shows them):
/// credentials that would let a reader act as the session's user.
const REDACTED_HEADERS: [&str; 3] = ["cookie", "authorization", "proxy-authorization"];

/// What a redacted header's value reads.
const REDACTED: &str = "<redacted>";

/// A transport's details as Crossbar gives them (autobahn's `TransportDetails`), in a session's
/// details and to a dynamic authenticator. **[ours]**: `websocket_protocol` is null on
/// RawSocket; request headers that carry credentials read `<redacted>`.
pub fn transport_details(t: &TransportInfo) -> Value {
    let peer = t.peer_string();
    let pid = std::process::id();
    let websocket = t.framing == wamp::transport::Framing::WebSocket;
    let headers = if websocket {
        let mut h = Dict::new();
        for (k, v) in t.http_headers.iter() {
            let v = if REDACTED_HEADERS.contains(&k.as_str()) {
                REDACTED
            } else {
                v.as_str()
            };
            h.insert(k.clone(), v.into());
        }
        Value::Dict(h)
    } else {
        Value::Null
    };
    Value::Dict(dict! {
        "channel_type" => if t.is_secure { "tls" } else { "tcp" },
        "channel_framing" => t.framing.name(),
        "channel_serializer" => t.serializer.name(),
        "own" => Value::Null,
        "peer" => peer.as_str(),
        "is_server" => true,
        "own_pid" => pid,
        "own_tid" => pid,
        "own_fd" => -1,
        "is_secure" => t.is_secure,
        "channel_id" => Value::Dict(Dict::new()),
        "peer_cert" => Value::Null,
        "websocket_protocol" => Value::from(t.websocket_protocol.clone()),
        "websocket_extensions_in_use" => if websocket { Value::List(Vec::new()) } else { Value::Null },
        "http_headers_received" => headers,
        "http_headers_sent" => if websocket { Value::Dict(Dict::new()) } else { Value::Null },
        "http_cbtid" => Value::Null,
    })
}

/// A session's details as `wamp.session.on_join` and `wamp.session.get` give them, with the keys
/// in Crossbar's order, on node `node` (`authextra.x_cb_node`: the cluster's node name, or the
/// host name). **[ours]**: `serializer` is the serializer's name for every transport,
/// and `websocket_protocol` is null on RawSocket.
pub fn session_details(s: &SessionHandle, node: &str) -> Dict {
    let t = &s.transport;
    let peer = t.peer_string();
    let pid = std::process::id();
    // As Crossbar: what the authenticator gave, then the router's own keys.
    let mut authextra = s.authextra.clone();
    authextra.extend(dict! {
        "x_cb_node" => node,
        "x_cb_worker" => "router",
        "x_cb_peer" => peer.as_str(),
        "x_cb_pid" => pid,
    });
    dict! {
        "realm" => s.realm.as_str(),
        "session" => s.id,
        "authid" => s.authid.as_str(),
        "authrole" => s.authrole.as_str(),
        "authmethod" => s.authmethod,
        "authprovider" => s.authprovider,
        "authextra" => Value::Dict(authextra),
        "serializer" => s.serializer().name(),
        "transport" => transport_details(t),
        "resumed" => false,
        "resumable" => false,
        "resume_token" => Value::Null,
    }
}
