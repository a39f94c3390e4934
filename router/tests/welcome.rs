//! WELCOME announces exactly what works: the feature lists of the broker and the dealer, with
//! and without the meta API, and `event_history` only on a realm that keeps events.

mod common;

use common::*;
use wamp::{MatchPolicy, Serializer, Value};
use wamp_router::config::HistoryConfig;

const BROKER: &[&str] = &[
    "event_retention",
    "pattern_based_subscription",
    "payload_passthru_mode",
    "payload_transparency",
    "publisher_exclusion",
    "publisher_identification",
    "subscriber_blackwhite_listing",
];
const DEALER: &[&str] = &[
    "call_canceling",
    "call_timeout",
    "caller_identification",
    "pattern_based_registration",
    "payload_passthru_mode",
    "payload_transparency",
    "progressive_call_invocations",
    "progressive_call_results",
    "shared_registration",
];

/// The features WELCOME announces for `role`, sorted; each must be `true`.
async fn announced(router: &wamp_router::Router, role: &str) -> Vec<String> {
    let s = join(router, Transport::Rs, Serializer::Json).await;
    let features = s
        .welcome()
        .get("roles")
        .and_then(|r| r.get(role))
        .and_then(|r| r.get("features"))
        .and_then(Value::as_dict)
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<String> = features
        .iter()
        .map(|(k, v)| {
            assert_eq!(v, &Value::Bool(true), "{role}.{k}");
            k.clone()
        })
        .collect();
    names.sort();
    names
}

fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = base.iter().chain(more).map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_default_realm_announces_the_meta_apis_but_no_event_history() {
    let router = start().await;
    assert_eq!(
        announced(&router, "broker").await,
        with(BROKER, &["session_meta_api", "subscription_meta_api"])
    );
    assert_eq!(
        announced(&router, "dealer").await,
        with(
            DEALER,
            &[
                "registration_meta_api",
                "session_meta_api",
                "testament_meta_api"
            ]
        )
    );
    router.shutdown().await;
}

#[tokio::test]
async fn a_realm_that_keeps_events_announces_event_history() {
    let router = start_configured(|config| {
        config.realms[0].event_history = vec![HistoryConfig {
            uri: "com.example.log".into(),
            policy: MatchPolicy::Exact,
            limit: 10,
        }];
    })
    .await;
    assert_eq!(
        announced(&router, "broker").await,
        with(
            BROKER,
            &["event_history", "session_meta_api", "subscription_meta_api"]
        )
    );
    router.shutdown().await;
}

#[tokio::test]
async fn without_the_meta_api_no_meta_feature_is_announced() {
    let router = start_configured(|config| {
        config.realms[0].enable_meta_api = false;
        config.realms[0].event_history = vec![HistoryConfig {
            uri: "com.example.log".into(),
            policy: MatchPolicy::Exact,
            limit: 10,
        }];
    })
    .await;
    assert_eq!(announced(&router, "broker").await, with(BROKER, &[]));
    assert_eq!(announced(&router, "dealer").await, with(DEALER, &[]));
    router.shutdown().await;
}
